import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { KAFKA } from './artifacts.ts';
import { PortInUseError, ServerNotReadyError } from './errors.ts';
import type { JavaRuntime } from './java.ts';
import { type JvmServer, startJvm } from './jvm.ts';
import { claimPort, freePort, LOOPBACK } from './ports.ts';
import { pollUntil } from './wait.ts';

const run = promisify(execFile);

/** How to start the local broker. */
export interface KafkaBrokerOptions {
  readonly java: JavaRuntime;
  /** Folder holding the broker's jars (from `ensureArtifacts(KAFKA)`). */
  readonly libDir: string;
  /** Client port; 0 or undefined picks a free one. */
  readonly port?: number;
  /** The KRaft controller's port; undefined picks a free one. */
  readonly controllerPort?: number;
  /** Deadline for the broker to answer an admin call. */
  readonly readyTimeoutMs?: number;
  /** Maximum JVM heap, e.g. '256m'. */
  readonly heap?: string;
}

/** A single-node KRaft broker running from a temporary folder. */
export interface KafkaBroker {
  /** `host:port` bootstrap servers, as Kafka clients take them. */
  readonly brokers: readonly string[];
  readonly version: string;
  /** The running JVM (a new one after {@link KafkaBroker.restart}). */
  readonly jvm: JvmServer;
  /** The temporary folder: config, data and `kafka.log`. */
  readonly dir: string;
  /**
   * Kills the broker at once (SIGKILL, as `kill -9` does: no shutdown, no flush)
   * and resolves when it is gone. The folder and its data stay, for
   * {@link KafkaBroker.restart}.
   */
  kill(): Promise<void>;
  /**
   * Starts the broker again, on the same folder, data, cluster id and ports (after
   * a {@link KafkaBroker.kill}, or a stop of the JVM), and waits until it answers.
   * After a kill it answers only once the controller has let the old broker's
   * session expire (60 s). Used by the fault suite (docs/fault-suite.md).
   */
  restart(): Promise<void>;
  /** Stops the broker (gracefully, then by force) and deletes its folder. */
  stop(): Promise<void>;
}

/**
 * How long the node's controller keeps its broker's session without a heartbeat
 * (see brokerProperties): also how long a broker restarted after a kill -9 waits
 * before it can register again.
 */
const BROKER_SESSION_TIMEOUT_MS = 60_000;

/**
 * The broker's configuration: one node that is both broker and controller (KRaft), on
 * 127.0.0.1 only, sized for a laptop or a 2-core CI machine, and with topic
 * auto-creation off, as on MSK, so that a missing topic is an error and not a surprise.
 *
 * @example
 * ```ts
 * brokerProperties({ port: 9092, controllerPort: 9093, dataDir: '/tmp/k/data' });
 * ```
 */
export function brokerProperties(settings: {
  port: number;
  controllerPort: number;
  dataDir: string;
}): string {
  const { port, controllerPort, dataDir } = settings;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${LOOPBACK}:${controllerPort}`,
    `listeners=PLAINTEXT://${LOOPBACK}:${port},CONTROLLER://${LOOPBACK}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${LOOPBACK}:${port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'auto.create.topics.enable=false',
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=8',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    'group.initial.rebalance.delay.ms=0',
    // The node is its own controller: fencing its own broker after a late heartbeat
    // (9 s by default) only drops every partition's leader and every group's
    // coordinator for a moment, which clients meet as NOT_LEADER_OR_FOLLOWER and
    // NOT_COORDINATOR, and every consumer group rejoins. Seen mid-run on a 2-core
    // machine with two busy processes beside the tests.
    `broker.session.timeout.ms=${BROKER_SESSION_TIMEOUT_MS}`,
    // After a kill -9, the restarted node's controller still holds the old broker's
    // session for that long, and refuses the new registration
    // (DUPLICATE_BROKER_REGISTRATION); by default the broker gives up after 60 s and
    // exits. It waits out the old session instead (seen by the fault suite,
    // docs/fault-suite.md: back 60-65 s after a restart).
    `initial.broker.registration.timeout.ms=${3 * BROKER_SESSION_TIMEOUT_MS}`,
    'num.network.threads=2',
    'num.io.threads=4',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=INFO, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.org.apache.kafka.clients=WARN',
  '',
].join('\n');

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding (22 characters),
 * never starting with '-': the storage tool would read such an id as an option (Kafka's
 * own `Uuid.randomUuid()` skips those for the same reason).
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Formats a fresh storage folder and starts Apache Kafka in it, then waits (with a
 * deadline) until a real admin call succeeds. On any failure the JVM is stopped before
 * the error is thrown; the folder is kept so that its log can be read.
 *
 * @example
 * ```ts
 * const broker = await startKafkaBroker({ java, libDir });
 * console.log(broker.brokers); // ['127.0.0.1:40123']
 * await broker.stop();
 * ```
 */
export async function startKafkaBroker(
  options: KafkaBrokerOptions,
): Promise<KafkaBroker> {
  const port = await claimPort(options.port, 'KAFKA_PORT');
  const controllerPort = options.controllerPort ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), 'local-kafka-'));
  const dataDir = join(dir, 'data');
  const config = join(dir, 'server.properties');
  const logFile = join(dir, 'kafka.log');
  await writeFile(config, brokerProperties({ port, controllerPort, dataDir }));
  await writeFile(join(dir, 'log4j.properties'), LOG4J);

  const jvmArgs = kafkaJvmArgs(options, dir);
  const classpath = [join(options.libDir, '*')];

  let jvm: JvmServer | undefined;
  try {
    await formatStorage(options, jvmArgs, classpath, config, dir);

    const launch = () =>
      startJvm({
        name: 'Kafka broker',
        java: options.java.java,
        jvmArgs,
        classpath,
        mainClass: 'kafka.Kafka',
        args: [config],
        cwd: dir,
        logFile,
      });
    jvm = await launch();
    const brokers = [`${LOOPBACK}:${port}`];
    const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    await waitForKafka(brokers, readyTimeoutMs, jvm, port);

    let running = jvm;
    return {
      brokers,
      version: KAFKA.title.replace('Apache Kafka ', ''),
      get jvm() {
        return running;
      },
      dir,
      async kill() {
        try {
          process.kill(running.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await running.exited;
      },
      async restart() {
        // The old JVM's wrapper still holds its watchdog pipe: closing it is a no-op
        // for a JVM that is gone, and releases the wrapper.
        await running.stop(2_000);
        running = await launch();
        try {
          await waitForKafka(
            brokers,
            readyTimeoutMs + BROKER_SESSION_TIMEOUT_MS,
            running,
            port,
          );
        } catch (error) {
          await running.stop(2_000);
          throw error;
        }
      },
      async stop() {
        await running.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    // The folder stays behind on purpose: its kafka.log is what the error points to.
    await jvm?.stop(2_000);
    throw error;
  }
}

/** The broker JVM's options: heap, GC, and its log4j settings and folder in `dir`. */
function kafkaJvmArgs(options: KafkaBrokerOptions, dir: string): string[] {
  return [
    `-Xmx${options.heap ?? '256m'}`,
    '-Xms64m',
    '-XX:+UseSerialGC',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(dir, 'log4j.properties')}`,
    `-Dkafka.logs.dir=${dir}`,
  ];
}

/** Formats the KRaft storage of `config` with a new cluster id (Kafka's StorageTool). */
async function formatStorage(
  options: KafkaBrokerOptions,
  jvmArgs: readonly string[],
  classpath: readonly string[],
  config: string,
  dir: string,
): Promise<void> {
  await run(
    options.java.java,
    [
      ...jvmArgs,
      '-cp',
      classpath.join(':'),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      newClusterId(),
      '-c',
      config,
    ],
    { cwd: dir, timeout: 120_000 },
  ).catch((error: Error & { stdout?: string; stderr?: string }) => {
    const output = `${error.stderr ?? ''}`.trim() || error.message;
    throw new ServerNotReadyError(
      `formatting the Kafka storage folder failed: ${lastLine(output)}`,
      `check that ${dir} is writable and the jars in ${options.libDir} are complete ` +
        `(delete that folder to fetch them again)`,
      { cause: error },
    );
  });
}

/**
 * Waits until the cluster answers `describeCluster`. When `jvm` is given, an early exit
 * of the broker process ends the wait at once, with the reason taken from its log.
 */
export async function waitForKafka(
  brokers: readonly string[],
  timeoutMs: number,
  jvm?: JvmServer,
  port?: number,
): Promise<void> {
  const admin = new Kafka({
    clientId: 'local-platform-probe',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    retry: { retries: 0 },
  }).admin();
  let exited = false;
  try {
    const ready = await pollUntil(async () => {
      if (jvm?.hasExited()) {
        exited = true;
        return false;
      }
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 ? true : undefined;
      } catch {
        return undefined;
      }
    }, timeoutMs);
    if (ready === true) return;
  } finally {
    await admin.disconnect().catch(() => {});
  }

  const seconds = timeoutMs / 1000;
  if (!jvm) {
    throw new ServerNotReadyError(
      `the Kafka cluster at ${brokers.join(',')} did not answer within ${seconds} s`,
      'check that KAFKA_BROKERS names a running cluster reachable from here, ' +
        'or unset it to let the platform start its own broker',
    );
  }
  const log = jvm.logTail(40);
  if (port !== undefined && /Address already in use/.test(log)) {
    throw new PortInUseError(
      port,
      'another process took the port while the broker started; start again, ' +
        'or set KAFKA_PORT to a port that stays free',
    );
  }
  const why = exited
    ? `the Kafka broker exited before it was ready: ${lastLine(errorLines(log))}`
    : `the Kafka broker did not become ready within ${seconds} s`;
  throw new ServerNotReadyError(
    why,
    `read ${jvm.logFile} for the cause; on a slow machine raise ` +
      'PLATFORM_READY_TIMEOUT_MS (milliseconds)',
  );
}

function errorLines(log: string): string {
  const errors = log.split('\n').filter((line) => /ERROR|Exception/.test(line));
  return errors.length > 0 ? errors.join('\n') : log;
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .at(-1) ?? '(no output)'
  );
}
