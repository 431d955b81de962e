import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { JavaNotFoundError } from './errors.ts';

/** The oldest Java that runs both Kafka 3.9 and DynamoDB Local 3. */
export const MINIMUM_JAVA_MAJOR = 17;

const INSTALL_FIX =
  'install a JDK 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless) ' +
  'and put it on PATH or set JAVA_HOME; or point the platform at running services ' +
  'with KAFKA_BROKERS and DYNAMODB_ENDPOINT';

/** The Java commands the platform runs, resolved once. */
export interface JavaRuntime {
  /** Path of the `java` launcher. */
  readonly java: string;
  /** Path of `javac`, or undefined when only a JRE is installed. */
  readonly javac: string | undefined;
  /** Major version, e.g. 17. */
  readonly major: number;
}

/**
 * Reads the major version from the first line `java -version` prints
 * (`openjdk version "17.0.15" 2025-04-15`, `java version "1.8.0_392"`).
 *
 * @example
 * ```ts
 * parseJavaMajor('openjdk version "21.0.2" 2024-01-16'); // 21
 * ```
 */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

/**
 * Finds Java: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` on PATH.
 * Throws {@link JavaNotFoundError} when there is none or it is older than 17.
 *
 * @example
 * ```ts
 * const { java } = findJava();
 * ```
 */
export function findJava(env: NodeJS.ProcessEnv = process.env): JavaRuntime {
  const home = env.JAVA_HOME;
  const java = home ? join(home, 'bin', 'java') : 'java';
  const probe = spawnSync(java, ['-version'], { env, encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const where = home ? `at JAVA_HOME=${home}` : 'on PATH';
    throw new JavaNotFoundError(`no Java runtime found ${where}`, INSTALL_FIX, {
      cause: probe.error,
    });
  }
  const major = parseJavaMajor(`${probe.stderr}${probe.stdout}`);
  if (major === undefined || major < MINIMUM_JAVA_MAJOR) {
    throw new JavaNotFoundError(
      `Java ${major ?? '(unknown version)'} found, but ${MINIMUM_JAVA_MAJOR} or newer is needed`,
      INSTALL_FIX,
    );
  }
  const javacPath = home ? join(home, 'bin', 'javac') : 'javac';
  const javac =
    spawnSync(javacPath, ['-version'], { env }).status === 0
      ? javacPath
      : undefined;
  return { java, javac, major };
}
