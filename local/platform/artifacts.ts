import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ArtifactFetchError } from './errors.ts';
import type { JavaRuntime } from './java.ts';

/** The checkout's root: local/platform/ is two levels down. */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Where downloaded jars, logs and run state live: `.cache/` in the checkout (git-ignored),
 * or `LOCAL_PLATFORM_CACHE`.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.LOCAL_PLATFORM_CACHE ?? join(REPO_ROOT, '.cache'));
}

/** A JVM server whose jars Maven fetches from the pom beside this file. */
export interface JvmComponent {
  readonly id: 'kafka' | 'dynamodb';
  /** For messages: 'Apache Kafka 3.9.2'. */
  readonly title: string;
  readonly pom: string;
}

function versionFromPom(pom: string, property: string): string {
  const match = new RegExp(`<${property}>([^<]+)</${property}>`).exec(
    readFileSync(pom, 'utf8'),
  );
  return match?.[1] ?? 'unknown';
}

const mavenDir = join(import.meta.dirname, 'maven');

/** Apache Kafka's broker, pinned in maven/kafka/pom.xml. */
export const KAFKA: JvmComponent = {
  id: 'kafka',
  title: `Apache Kafka ${versionFromPom(join(mavenDir, 'kafka', 'pom.xml'), 'kafka.version')}`,
  pom: join(mavenDir, 'kafka', 'pom.xml'),
};

/** AWS's DynamoDB Local, pinned in maven/dynamodb/pom.xml. */
export const DYNAMODB_LOCAL: JvmComponent = {
  id: 'dynamodb',
  title: `DynamoDB Local ${versionFromPom(
    join(mavenDir, 'dynamodb', 'pom.xml'),
    'dynamodb-local.version',
  )}`,
  pom: join(mavenDir, 'dynamodb', 'pom.xml'),
};

const LAUNCHER_SOURCE = join(
  import.meta.dirname,
  'launcher',
  'LoopbackDynamoDbLocal.java',
);

/** Options for {@link ensureArtifacts}. */
export interface EnsureArtifactsOptions {
  readonly java: JavaRuntime;
  /** Progress lines go here; first use prints what it downloads. */
  readonly log?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
  /** Extra Maven arguments (tests use `-o` with an empty repository). */
  readonly mavenArgs?: readonly string[];
}

function fingerprint(component: JvmComponent): string {
  const hash = createHash('sha256').update(readFileSync(component.pom));
  if (component.id === 'dynamodb') hash.update(readFileSync(LAUNCHER_SOURCE));
  return hash.digest('hex');
}

/**
 * Makes sure a component's jars are in the cache and returns their folder. The first
 * call fetches them with Maven (printing each download); later calls only compare a
 * fingerprint of the pom and need no network and no Maven.
 *
 * @example
 * ```ts
 * const lib = await ensureArtifacts(KAFKA, { java: findJava(), log: console.log });
 * ```
 */
export async function ensureArtifacts(
  component: JvmComponent,
  options: EnsureArtifactsOptions,
): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const root = cacheRoot(env);
  const target = join(root, 'jvm', component.id);
  const marker = join(target, '.fingerprint');
  const expected = fingerprint(component);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === expected) {
    return target;
  }

  const probe = spawnSync('mvn', ['--version'], { env });
  if (probe.error || probe.status !== 0) {
    throw new ArtifactFetchError(
      `Maven (mvn) is needed once to fetch ${component.title}, and it is not on PATH`,
      'install Maven 3.8 or newer (Debian/Ubuntu: apt-get install maven), ' +
        'or use running services through KAFKA_BROKERS and DYNAMODB_ENDPOINT',
      { cause: probe.error },
    );
  }

  log(`Fetching ${component.title} from Maven Central (first use only)...`);
  const staging = `${target}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const logFile = join(root, 'logs', `fetch-${component.id}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  await runMaven(
    component,
    staging,
    logFile,
    options.mavenArgs ?? [],
    env,
    log,
  );

  if (component.id === 'dynamodb') compileLauncher(staging, options.java, env);
  writeFileSync(join(staging, '.fingerprint'), expected);
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  log(`${component.title} is ready in ${target}`);
  return target;
}

async function runMaven(
  component: JvmComponent,
  outputDirectory: string,
  logFile: string,
  extraArgs: readonly string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  const args = [
    '-B',
    '-f',
    component.pom,
    ...extraArgs,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${outputDirectory}`,
  ];
  const child = spawn('mvn', args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = createWriteStream(logFile);
  child.stderr.pipe(file, { end: false });
  let firstError: string | undefined;
  let downloads = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    file.write(`${line}\n`);
    const downloaded =
      /^\[INFO\] Downloaded from [^:]+: \S*\/([^/\s]+\.jar) \((.+?) at /.exec(
        line,
      );
    if (downloaded) {
      downloads += 1;
      log(`  downloaded ${downloaded[1]} (${downloaded[2]})`);
    }
    if (!firstError && line.startsWith('[ERROR]')) {
      firstError = line.slice('[ERROR] '.length).trim();
    }
  }
  const code: number = await new Promise((done) =>
    child.once('close', (status) => done(status ?? 1)),
  );
  file.end();
  if (code !== 0) {
    rmSync(outputDirectory, { recursive: true, force: true });
    throw new ArtifactFetchError(
      `fetching ${component.title} with Maven failed: ${firstError ?? `exit code ${code}`}`,
      `check that Maven Central is reachable (proxy and mirrors in ~/.m2/settings.xml), ` +
        `then run 'npm run platform -- fetch' again; Maven's output is in ${logFile}`,
    );
  }
  log(`  ${downloads} files downloaded, the rest came from ~/.m2`);
}

function compileLauncher(
  libDir: string,
  java: JavaRuntime,
  env: NodeJS.ProcessEnv,
): void {
  if (!java.javac) {
    throw new ArtifactFetchError(
      'DynamoDB Local runs through a small launcher that binds it to 127.0.0.1, ' +
        'and compiling it needs javac, which this Java runtime lacks',
      'install a full JDK 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless)',
    );
  }
  const result = spawnSync(
    java.javac,
    ['-d', join(libDir, 'launcher'), '-cp', join(libDir, '*'), LAUNCHER_SOURCE],
    { env, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new ArtifactFetchError(
      `compiling the DynamoDB Local launcher failed: ${result.stderr.split('\n')[0]}`,
      'check that the DynamoDB Local version in local/platform/maven/dynamodb/pom.xml ' +
        'still has DynamoDBProxyServer, then run the fetch again',
    );
  }
}
