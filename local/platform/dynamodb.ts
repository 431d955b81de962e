import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DYNAMODB_LOCAL } from './artifacts.ts';
import { PortInUseError, ServerNotReadyError } from './errors.ts';
import type { JavaRuntime } from './java.ts';
import { type JvmServer, startJvm } from './jvm.ts';
import { claimPort, LOOPBACK } from './ports.ts';
import { pollUntil } from './wait.ts';

/** The region and credentials local clients use; DynamoDB Local accepts any. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/**
 * The limits of the local tools' own DynamoDB calls (creating tables, reading the
 * orders table's stream): a frozen or vanished DynamoDB fails the call at its
 * timeout, and the caller says so or tries again, instead of waiting for ever.
 * Without `throwOnRequestTimeout` the SDK only warns at the request timeout.
 *
 * @example
 * ```ts
 * new DynamoDBClient({ endpoint, ...LOCAL_AWS, requestHandler: localRequestLimits() });
 * ```
 */
export function localRequestLimits(requestTimeoutMs = 10_000) {
  return {
    connectionTimeout: Math.min(2_000, requestTimeoutMs),
    requestTimeout: requestTimeoutMs,
    throwOnRequestTimeout: true,
  } as const;
}

/** How to start DynamoDB Local. */
export interface DynamoDbLocalOptions {
  readonly java: JavaRuntime;
  /** Folder holding DynamoDB Local's jars, natives and launcher. */
  readonly libDir: string;
  /** HTTP port; 0 or undefined picks a free one. */
  readonly port?: number;
  readonly readyTimeoutMs?: number;
  readonly heap?: string;
}

/** DynamoDB Local running in memory. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint`. */
  readonly endpoint: string;
  readonly version: string;
  readonly jvm: JvmServer;
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local in memory with one shared database (`-sharedDb`: every region
 * and credential sees the same tables, so handlers, tests and tools agree), listening on
 * 127.0.0.1 only, and waits until it answers ListTables.
 *
 * @example
 * ```ts
 * const ddb = await startDynamoDbLocal({ java, libDir });
 * new DynamoDBClient({ endpoint: ddb.endpoint, ...LOCAL_AWS });
 * ```
 */
export async function startDynamoDbLocal(
  options: DynamoDbLocalOptions,
): Promise<DynamoDbLocal> {
  const port = await claimPort(options.port, 'DYNAMODB_PORT');
  const dir = await mkdtemp(join(tmpdir(), 'local-dynamodb-'));
  let jvm: JvmServer | undefined;
  try {
    jvm = await startJvm({
      name: 'DynamoDB Local',
      java: options.java.java,
      jvmArgs: [
        `-Xmx${options.heap ?? '256m'}`,
        '-Xms32m',
        '-XX:+UseSerialGC',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        `-Djava.library.path=${options.libDir}`,
      ],
      classpath: [join(options.libDir, '*'), join(options.libDir, 'launcher')],
      mainClass: 'LoopbackDynamoDbLocal',
      args: ['-inMemory', '-sharedDb', '-disableTelemetry', '-port', `${port}`],
      cwd: dir,
      logFile: join(dir, 'dynamodb.log'),
    });
    const endpoint = `http://${LOOPBACK}:${port}`;
    await waitForDynamoDb(
      endpoint,
      options.readyTimeoutMs ?? 60_000,
      jvm,
      port,
    );
    const running = jvm;
    return {
      endpoint,
      version: DYNAMODB_LOCAL.title.replace('DynamoDB Local ', ''),
      jvm: running,
      async stop() {
        await running.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    // The folder stays behind on purpose: its dynamodb.log is what the error points to.
    await jvm?.stop(2_000);
    throw error;
  }
}

/**
 * Waits until the endpoint answers ListTables. With `jvm`, an early exit ends the wait
 * at once with the reason from its log.
 */
export async function waitForDynamoDb(
  endpoint: string,
  timeoutMs: number,
  jvm?: JvmServer,
  port?: number,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    ...LOCAL_AWS,
    maxAttempts: 1,
    // A JVM still starting accepts the connection and answers late: the attempt
    // must end at its timeout and be polled again. Without throwOnRequestTimeout
    // the SDK only prints a requestTimeout warning and keeps waiting.
    requestHandler: {
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      throwOnRequestTimeout: true,
    },
  });
  let exited = false;
  try {
    const ready = await pollUntil(async () => {
      if (jvm?.hasExited()) {
        exited = true;
        return false;
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return true;
      } catch {
        return undefined;
      }
    }, timeoutMs);
    if (ready === true) return;
  } finally {
    client.destroy();
  }
  const seconds = timeoutMs / 1000;
  if (!jvm) {
    throw new ServerNotReadyError(
      `DynamoDB at ${endpoint} did not answer within ${seconds} s`,
      'check that DYNAMODB_ENDPOINT names a running DynamoDB (Local or LocalStack), ' +
        'or unset it to let the platform start DynamoDB Local',
    );
  }
  const log = jvm.logTail(40);
  if (port !== undefined && /BindException|Address already in use/.test(log)) {
    throw new PortInUseError(
      port,
      'another process took the port while DynamoDB Local started; start again, ' +
        'or set DYNAMODB_PORT to a port that stays free',
    );
  }
  const firstError =
    log.split('\n').find((line) => /Exception|Error/.test(line)) ??
    log.split('\n').at(-1);
  throw new ServerNotReadyError(
    exited
      ? `DynamoDB Local exited before it was ready: ${firstError?.trim() || '(no output)'}`
      : `DynamoDB Local did not become ready within ${seconds} s`,
    `read ${jvm.logFile} for the cause; on a slow machine raise ` +
      'PLATFORM_READY_TIMEOUT_MS (milliseconds)',
  );
}
