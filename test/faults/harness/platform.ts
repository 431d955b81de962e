/**
 * A platform the fault suite can hurt: its own Kafka broker and DynamoDB Local, as
 * JVM processes it holds by process id, so that an experiment can kill the broker
 * with SIGKILL and start it again on the same log dir and port, or freeze either
 * server with SIGSTOP and thaw it with SIGCONT (docs/fault-suite.md).
 *
 * It is built from the same pieces as `startPlatform` (local/platform/), and never
 * from KAFKA_BROKERS / DYNAMODB_ENDPOINT: a fault on someone else's broker is not
 * ours to inject.
 */
import { DYNAMODB_LOCAL, ensureArtifacts, KAFKA } from '#platform/artifacts.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '#platform/dynamodb.ts';
import { findJava } from '#platform/java.ts';
import { type KafkaBroker, startKafkaBroker } from '#platform/kafka.ts';
import type { PlatformEndpoints } from '../../../local/runtime/system.ts';

/** A server of the platform, by the faults it can suffer. */
export interface FaultableServer {
  /** The JVM's process id now (a new one after a restart). */
  pid(): number;
  /** SIGSTOP: the process stays, answers nothing, holds its sockets open. */
  freeze(): void;
  /** SIGCONT after {@link FaultableServer.freeze}. */
  thaw(): void;
}

/** The broker can also be killed and started again on its data. */
export interface FaultableBroker extends FaultableServer {
  /** SIGKILL; resolves when the process is gone. The log dir stays. */
  kill(): Promise<void>;
  /** Starts it on the same log dir and port; resolves when it answers. */
  restart(): Promise<void>;
}

export interface FaultPlatform extends PlatformEndpoints {
  readonly kafka: { readonly brokers: readonly string[] };
  readonly dynamodb: { readonly endpoint: string };
  readonly broker: FaultableBroker;
  readonly store: FaultableServer;
  /** Thaws anything frozen, then stops both servers; safe to call twice. */
  stop(): Promise<void>;
}

function signaller(pid: () => number, frozen: Set<number>): FaultableServer {
  return {
    pid,
    freeze() {
      process.kill(pid(), 'SIGSTOP');
      frozen.add(pid());
    },
    thaw() {
      process.kill(pid(), 'SIGCONT');
      frozen.delete(pid());
    },
  };
}

/**
 * Starts a broker and DynamoDB Local on free ports, for one experiment.
 *
 * @example
 * ```ts
 * const platform = await startFaultPlatform();
 * await platform.broker.kill();
 * await platform.broker.restart();
 * await platform.stop();
 * ```
 */
export async function startFaultPlatform(
  log: (line: string) => void = () => {},
): Promise<FaultPlatform> {
  const java = findJava(process.env);
  const [kafkaLib, dynamodbLib] = await Promise.all([
    ensureArtifacts(KAFKA, { java, log }),
    ensureArtifacts(DYNAMODB_LOCAL, { java, log }),
  ]);
  const [kafka, dynamodb] = await Promise.allSettled([
    startKafkaBroker({ java, libDir: kafkaLib, port: 0 }),
    startDynamoDbLocal({ java, libDir: dynamodbLib, port: 0 }),
  ]);
  if (kafka.status === 'rejected' || dynamodb.status === 'rejected') {
    if (kafka.status === 'fulfilled') await kafka.value.stop();
    if (dynamodb.status === 'fulfilled') await dynamodb.value.stop();
    throw kafka.status === 'rejected'
      ? kafka.reason
      : (dynamodb as PromiseRejectedResult).reason;
  }
  const broker: KafkaBroker = kafka.value;
  const store: DynamoDbLocal = dynamodb.value;
  // Frozen pids, so that stop() never leaves a stopped JVM behind (a stopped
  // process does not act on SIGTERM until it is continued).
  const frozen = new Set<number>();
  let stopping: Promise<void> | undefined;
  return {
    kafka: { brokers: broker.brokers },
    dynamodb: { endpoint: store.endpoint },
    broker: {
      ...signaller(() => broker.jvm.pid, frozen),
      kill: () => broker.kill(),
      restart: () => broker.restart(),
    },
    store: signaller(() => store.jvm.pid, frozen),
    stop() {
      stopping ??= (async () => {
        for (const pid of frozen) {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            // gone already
          }
        }
        frozen.clear();
        await Promise.all([broker.stop(), store.stop()]);
      })();
      return stopping;
    },
  };
}
