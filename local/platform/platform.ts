import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { DYNAMODB_LOCAL, ensureArtifacts, KAFKA } from './artifacts.ts';
import {
  LOCAL_AWS,
  localRequestLimits,
  startDynamoDbLocal,
  waitForDynamoDb,
} from './dynamodb.ts';
import { PlatformError } from './errors.ts';
import { findJava, type JavaRuntime } from './java.ts';
import { startKafkaBroker, waitForKafka } from './kafka.ts';
import { checkPorts, freePort, type PortClaim, parsePort } from './ports.ts';
import { isRetriable, pollUntil } from './wait.ts';

/** A topic to create, as the infrastructure declares it. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Topic-level configs, e.g. `{ 'retention.ms': '604800000' }`. */
  readonly config?: Readonly<Record<string, string>>;
}

/** Options for {@link startPlatform}; every field has a default from the environment. */
export interface PlatformOptions {
  /** Defaults to process.env: KAFKA_BROKERS, DYNAMODB_ENDPOINT, KAFKA_PORT, DYNAMODB_PORT, PLATFORM_READY_TIMEOUT_MS. */
  readonly env?: NodeJS.ProcessEnv;
  /** Progress lines (artifact downloads, start-up). */
  readonly log?: (line: string) => void;
  /** Broker client port: 0 picks a free one. Overrides KAFKA_PORT. */
  readonly kafkaPort?: number;
  /** DynamoDB Local port: 0 picks a free one. Overrides DYNAMODB_PORT. */
  readonly dynamodbPort?: number;
  readonly readyTimeoutMs?: number;
  /**
   * Ports the caller will listen on once the platform is up (e.g. the HTTP API's):
   * checked with the platform's own before anything starts, so that a taken one fails
   * in a moment instead of after both servers have started.
   */
  readonly otherPorts?: readonly PortClaim[];
}

/** Where a server of the platform runs, and whether the platform started it. */
export interface KafkaEndpoint {
  readonly brokers: readonly string[];
  /** False when KAFKA_BROKERS named an existing cluster. */
  readonly managed: boolean;
  readonly version?: string;
  readonly pid?: number;
  readonly logFile?: string;
}

export interface DynamoDbEndpoint {
  readonly endpoint: string;
  readonly region: string;
  /** False when DYNAMODB_ENDPOINT named an existing service (e.g. LocalStack). */
  readonly managed: boolean;
  readonly version?: string;
  readonly pid?: number;
  readonly logFile?: string;
}

/** A running local platform: a Kafka broker and DynamoDB, with a few admin helpers. */
export interface LocalPlatform {
  readonly kafka: KafkaEndpoint;
  readonly dynamodb: DynamoDbEndpoint;
  /** Creates topics that do not exist yet and waits for their leaders. */
  createTopics(topics: readonly TopicSpec[]): Promise<void>;
  /** Creates tables that do not exist yet. */
  createTables(tables: readonly CreateTableCommandInput[]): Promise<void>;
  /** Resident memory of the JVMs the platform started, in bytes. */
  memory(): { kafka?: number; dynamodb?: number };
  /** Stops what the platform started; safe to call twice. */
  stop(): Promise<void>;
}

/** What the platform holds for a server it started itself. */
interface Managed {
  readonly stop?: () => Promise<void>;
  readonly rss?: () => number | undefined;
}

function portSetting(
  explicit: number | undefined,
  env: NodeJS.ProcessEnv,
  name: string,
): number | undefined {
  if (explicit !== undefined) return explicit;
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  return parsePort(raw, name);
}

/**
 * Starts the local platform: Apache Kafka (KRaft, one node) and DynamoDB Local, both as
 * plain JVM processes on 127.0.0.1, in parallel. `KAFKA_BROKERS` or `DYNAMODB_ENDPOINT`
 * in the environment replace the corresponding server by an existing one (nothing is
 * started for it). Fetches the jars on first use.
 *
 * @example
 * ```ts
 * const platform = await startPlatform({ log: console.log });
 * await platform.createTopics([{ name: 'order.placed.v1', partitions: 3 }]);
 * await platform.stop();
 * ```
 */
export async function startPlatform(
  options: PlatformOptions = {},
): Promise<LocalPlatform> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const readyTimeoutMs =
    options.readyTimeoutMs ?? Number(env.PLATFORM_READY_TIMEOUT_MS ?? 60_000);
  const external = {
    kafka: env.KAFKA_BROKERS?.split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    dynamodb: env.DYNAMODB_ENDPOINT?.trim() || undefined,
  };
  const kafkaPort = portSetting(options.kafkaPort, env, 'KAFKA_PORT');
  const dynamodbPort = portSetting(options.dynamodbPort, env, 'DYNAMODB_PORT');

  // Every port is checked before any jar is fetched or any JVM starts: a taken one
  // fails in a moment, naming the setting that moves it. The KRaft controller takes a
  // free port, chosen here.
  await checkPorts([
    ...(external.kafka?.length
      ? []
      : [{ port: kafkaPort, setting: 'KAFKA_PORT' }]),
    ...(external.dynamodb
      ? []
      : [{ port: dynamodbPort, setting: 'DYNAMODB_PORT' }]),
    ...(options.otherPorts ?? []),
  ]);
  const controllerPort = external.kafka?.length ? undefined : await freePort();

  let java: JavaRuntime | undefined;
  if (!external.kafka?.length || !external.dynamodb) java = findJava(env);

  const start: ServerStart = {
    external,
    java,
    env,
    log,
    readyTimeoutMs,
    kafkaPort,
    controllerPort,
    dynamodbPort,
  };
  const [kafkaResult, dynamodbResult] = await Promise.allSettled([
    startKafka(start),
    startDynamoDb(start),
  ]);
  if (
    kafkaResult.status === 'rejected' ||
    dynamodbResult.status === 'rejected'
  ) {
    if (kafkaResult.status === 'fulfilled') await kafkaResult.value.stop?.();
    if (dynamodbResult.status === 'fulfilled')
      await dynamodbResult.value.stop?.();
    throw kafkaResult.status === 'rejected'
      ? kafkaResult.reason
      : (dynamodbResult as PromiseRejectedResult).reason;
  }
  const { stop: stopKafka, rss: kafkaRss, ...kafka } = kafkaResult.value;
  const {
    stop: stopDynamoDb,
    rss: dynamodbRss,
    ...dynamodb
  } = dynamodbResult.value;

  let stopping: Promise<void> | undefined;
  return {
    kafka,
    dynamodb,
    createTopics: (topics) => createTopics(kafka.brokers, topics),
    createTables: (tables) => createTables(dynamodb.endpoint, tables),
    memory: () => ({ kafka: kafkaRss?.(), dynamodb: dynamodbRss?.() }),
    stop() {
      stopping ??= Promise.all([stopKafka?.(), stopDynamoDb?.()]).then(
        () => {},
      );
      return stopping;
    },
  };
}

/** What {@link startPlatform} settled before it starts (or reaches) each server. */
interface ServerStart {
  /** The servers given in the environment: nothing is started for those. */
  readonly external: {
    readonly kafka: string[] | undefined;
    readonly dynamodb: string | undefined;
  };
  /** Set when a server is to be started. */
  readonly java: JavaRuntime | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  readonly readyTimeoutMs: number;
  readonly kafkaPort: number | undefined;
  readonly controllerPort: number | undefined;
  readonly dynamodbPort: number | undefined;
}

/** Starts the Kafka broker, or waits for the one in KAFKA_BROKERS. */
async function startKafka(
  start: ServerStart,
): Promise<KafkaEndpoint & Managed> {
  const {
    external,
    java,
    env,
    log,
    readyTimeoutMs,
    kafkaPort,
    controllerPort,
  } = start;
  if (external.kafka?.length) {
    await waitForKafka(external.kafka, readyTimeoutMs);
    return { brokers: external.kafka, managed: false };
  }
  const runtime = java as JavaRuntime;
  const libDir = await ensureArtifacts(KAFKA, { java: runtime, log, env });
  const broker = await startKafkaBroker({
    java: runtime,
    libDir,
    port: kafkaPort,
    controllerPort,
    readyTimeoutMs,
  });
  return {
    brokers: broker.brokers,
    managed: true,
    version: broker.version,
    pid: broker.jvm.pid,
    logFile: broker.jvm.logFile,
    stop: () => broker.stop(),
    rss: () => broker.jvm.residentBytes(),
  };
}

/** Starts DynamoDB Local, or waits for the one at DYNAMODB_ENDPOINT. */
async function startDynamoDb(
  start: ServerStart,
): Promise<DynamoDbEndpoint & Managed> {
  const { external, java, env, log, readyTimeoutMs, dynamodbPort } = start;
  if (external.dynamodb) {
    await waitForDynamoDb(external.dynamodb, readyTimeoutMs);
    return {
      endpoint: external.dynamodb,
      region: LOCAL_AWS.region,
      managed: false,
    };
  }
  const runtime = java as JavaRuntime;
  const libDir = await ensureArtifacts(DYNAMODB_LOCAL, {
    java: runtime,
    log,
    env,
  });
  const ddb = await startDynamoDbLocal({
    java: runtime,
    libDir,
    port: dynamodbPort,
    readyTimeoutMs,
  });
  return {
    endpoint: ddb.endpoint,
    region: LOCAL_AWS.region,
    managed: true,
    version: ddb.version,
    pid: ddb.jvm.pid,
    logFile: ddb.jvm.logFile,
    stop: () => ddb.stop(),
    rss: () => ddb.jvm.residentBytes(),
  };
}

/** How long new topics may take to have a leader for every partition. */
const TOPIC_LEADERS_TIMEOUT_MS = 30_000;

/**
 * Creates the topics that do not exist yet (existing ones are left as they are) and
 * waits until every partition has a leader.
 *
 * kafkajs' own `waitForLeaders` is not used: it gives up when the broker does not know
 * a new topic yet (UNKNOWN_TOPIC_OR_PARTITION), and its create gives up on a
 * controller that answers after the request timeout (REQUEST_TIMED_OUT), both seen on
 * a loaded 2-core machine. Here a retriable answer means "not yet": the topics are
 * created again while the broker does not know one of them (it answers
 * TOPIC_ALREADY_EXISTS for those it has), until every partition of every topic has a
 * leader, or the deadline passes.
 */
export async function createTopics(
  brokers: readonly string[],
  topics: readonly TopicSpec[],
): Promise<void> {
  if (topics.length === 0) return;
  const admin = new Kafka({
    clientId: 'local-platform-admin',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  }).admin();
  const names = topics.map((topic) => topic.name);
  const create = async (): Promise<void> => {
    try {
      await admin.createTopics({
        waitForLeaders: false,
        timeout: TOPIC_LEADERS_TIMEOUT_MS,
        topics: topics.map((topic) => ({
          topic: topic.name,
          numPartitions: topic.partitions,
          replicationFactor: 1,
          configEntries: Object.entries(topic.config ?? {}).map(
            ([name, value]) => ({ name, value }),
          ),
        })),
      });
    } catch (error) {
      const errors = (error as { errors?: unknown }).errors;
      const harmless =
        Array.isArray(errors) &&
        errors.every(
          (e: { type?: string }) =>
            e.type === 'TOPIC_ALREADY_EXISTS' || isRetriable(e),
        );
      if (!harmless && !isRetriable(error)) throw error;
    }
  };
  /** 'missing' when the broker does not know a topic (create again), else whether led. */
  const state = async (): Promise<'led' | 'pending' | 'missing'> => {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const led = metadata.topics.every(
        (topic) =>
          topic.partitions.length > 0 &&
          topic.partitions.every((partition) => partition.leader >= 0),
      );
      return led ? 'led' : 'pending';
    } catch (error) {
      if (!isRetriable(error)) throw error;
      const unknown =
        (error as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION';
      return unknown ? 'missing' : 'pending';
    }
  };
  await admin.connect();
  try {
    let missing = true;
    const ready = await pollUntil(async () => {
      if (missing) await create();
      const now = await state();
      missing = now === 'missing';
      return now === 'led' ? true : undefined;
    }, TOPIC_LEADERS_TIMEOUT_MS);
    if (!ready) {
      throw new PlatformError(
        `the topics ${names.join(', ')} have no leader for every partition after ${TOPIC_LEADERS_TIMEOUT_MS / 1000} s`,
        'check that the broker is healthy (its log is printed at start-up)',
      );
    }
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates the tables that do not exist yet; existing ones are left as they are. Each
 * call fails after `requestTimeoutMs` (default 10 s) when DynamoDB does not answer.
 */
export async function createTables(
  endpoint: string,
  tables: readonly CreateTableCommandInput[],
  { requestTimeoutMs }: { requestTimeoutMs?: number } = {},
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    ...LOCAL_AWS,
    maxAttempts: 2,
    requestHandler: localRequestLimits(requestTimeoutMs),
  });
  try {
    for (const table of tables) {
      try {
        await client.send(new CreateTableCommand(table));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    }
  } finally {
    client.destroy();
  }
}
