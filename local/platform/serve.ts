import { join } from 'node:path';
import { cacheRoot } from './artifacts.ts';
import { describeError } from './errors.ts';
import { acquireInstance } from './instance.ts';
import {
  type LocalPlatform,
  type PlatformOptions,
  startPlatform,
} from './platform.ts';

/**
 * The record of the platform that `npm run dev` or `platform start` runs: one per
 * checkout, or wherever LOCAL_PLATFORM_STATE says (the tests use their own).
 */
export function instanceFile(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.LOCAL_PLATFORM_STATE ?? join(cacheRoot(env), 'run', 'platform.json')
  );
}

/** Options for {@link servePlatform}. */
export interface ServeOptions extends PlatformOptions {
  /** Shown in messages: 'npm run dev'. */
  readonly title: string;
  /** Runs once the platform is up (e.g. starts the local runtime); may return a stopper. */
  readonly onReady?: (
    platform: LocalPlatform,
  ) => Promise<(() => Promise<void>) | undefined>;
}

/**
 * Runs the platform in the foreground until SIGINT or SIGTERM: claims the checkout's
 * single instance, starts Kafka and DynamoDB Local, prints their endpoints, and on a
 * signal stops in order (what `onReady` started first, the servers last). A second
 * signal exits at once; the JVM watchdog still stops the servers.
 *
 * @example
 * ```ts
 * await servePlatform({ title: 'npm run dev', kafkaPort: 9092, dynamodbPort: 8000 });
 * ```
 */
export async function servePlatform(options: ServeOptions): Promise<void> {
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const env = options.env ?? process.env;
  // The checkout's one instance is the one that starts servers: a run on servers it
  // did not start (both KAFKA_BROKERS and DYNAMODB_ENDPOINT set, e.g. those of a
  // running `npm run platform -- start`) claims nothing and may run beside it.
  const lock = startsServers(env)
    ? acquireInstance(instanceFile(options.env), options.title)
    : { update: () => {}, release: () => {} };
  let platform: LocalPlatform | undefined;
  let stopApp: (() => Promise<void>) | undefined;
  let shuttingDown = false;
  // The servers' handles do not hold the event loop (so that a finished test run exits
  // and the watchdog stops them); a foreground platform holds it until a signal.
  const keepAlive = setInterval(() => {}, 1 << 30);

  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      out(`\n${signal} again: exiting now.`);
      process.exit(130);
    }
    shuttingDown = true;
    clearInterval(keepAlive);
    out(`\n${signal}: stopping ${options.title}...`);
    try {
      await stopApp?.();
      await platform?.stop();
    } finally {
      lock.release();
    }
    out('Stopped. Nothing is left running.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    const started = performance.now();
    platform = await startPlatform({ ...options, log: options.log ?? out });
    lock.update({
      kafkaBrokers: platform.kafka.brokers,
      dynamodbEndpoint: platform.dynamodb.endpoint,
      jvmPids: [platform.kafka.pid, platform.dynamodb.pid].filter(
        (pid) => pid !== undefined,
      ),
    });
    out(describePlatform(platform, performance.now() - started));
    stopApp = await options.onReady?.(platform);
    out('Press Ctrl-C to stop.');
  } catch (error) {
    clearInterval(keepAlive);
    await platform?.stop();
    lock.release();
    throw error;
  }
}

/**
 * Whether a platform run with this environment starts a server of its own (and so
 * must be the checkout's one instance): not when KAFKA_BROKERS and DYNAMODB_ENDPOINT
 * both name servers it uses.
 *
 * @example
 * ```ts
 * startsServers({ KAFKA_BROKERS: '127.0.0.1:9092', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }); // false
 * ```
 */
export function startsServers(env: NodeJS.ProcessEnv): boolean {
  return !(env.KAFKA_BROKERS?.trim() && env.DYNAMODB_ENDPOINT?.trim());
}

/** The endpoint table printed at start-up. */
export function describePlatform(
  platform: LocalPlatform,
  elapsedMs: number,
): string {
  const { kafka, dynamodb } = platform;
  const origin = (managed: boolean, version?: string) =>
    managed ? `started here${version ? `, ${version}` : ''}` : 'existing';
  return [
    '',
    `Local platform ready in ${(elapsedMs / 1000).toFixed(1)} s`,
    `  Kafka     ${kafka.brokers.join(',').padEnd(24)} (${origin(kafka.managed, kafka.version && `Apache Kafka ${kafka.version}`)})`,
    `  DynamoDB  ${dynamodb.endpoint.padEnd(24)} (${origin(dynamodb.managed, dynamodb.version && `DynamoDB Local ${dynamodb.version}`)}; region ${dynamodb.region}, any credentials)`,
    ...(kafka.logFile ? [`  Logs      ${kafka.logFile}`] : []),
    ...(dynamodb.logFile ? [`            ${dynamodb.logFile}`] : []),
    '',
    'For other shells:',
    `  export KAFKA_BROKERS=${kafka.brokers.join(',')} DYNAMODB_ENDPOINT=${dynamodb.endpoint}`,
    '',
  ].join('\n');
}

/** Prints an error as one line and exits non-zero: what the CLIs do on failure. */
export function exitWithError(error: unknown): never {
  process.stderr.write(`error: ${describeError(error)}\n`);
  process.exit(1);
}
