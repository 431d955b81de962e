/**
 * The ESM benchmark's baseline on a thread of its own (bench/esm.ts): a bare kafkajs
 * consumer, `eachBatch`, doing nothing but say how many records each batch had. The
 * thread lives for the whole bench, as the local ESM's consumer thread does, so both
 * sides read with kafkajs compiled and a heap grown by the warm-up. Started with
 * `leanRecordDecoder`, it decodes records as the ESM's consumer thread does.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import { installLeanRecordDecoder } from '../local/runtime/kafkajs-record-decoder.ts';

/** What the thread is started with. */
export interface BareConsumerData {
  /** Decode with the ESM's record decoder (local/runtime/kafkajs-record-decoder.ts). */
  readonly leanRecordDecoder: boolean;
}

/** To this thread: read `topic` from its oldest record in a new group; stop reading. */
export type ToBareConsumer =
  | {
      readonly type: 'run';
      readonly brokers: readonly string[];
      readonly topic: string;
      readonly groupId: string;
    }
  | { readonly type: 'stop' };

/** From this thread: a batch's record count; stopped (disconnected). */
export type FromBareConsumer =
  | { readonly type: 'batch'; readonly records: number }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed'; readonly message: string };

if (parentPort === null) throw new Error('bare-consumer: not a worker thread');
const port: MessagePort = parentPort;
const post = (message: FromBareConsumer) => port.postMessage(message);

if ((workerData as BareConsumerData | undefined)?.leanRecordDecoder) {
  if (!installLeanRecordDecoder()) {
    throw new Error('bare-consumer: the lean record decoder did not install');
  }
}

let stop: (() => Promise<void>) | undefined;

port.on('message', (message: ToBareConsumer) => {
  if (message.type === 'stop') {
    void (stop?.() ?? Promise.resolve()).then(() => post({ type: 'stopped' }));
    return;
  }
  const consumer = new Kafka({
    clientId: 'bench-base',
    brokers: [...message.brokers],
    logLevel: logLevel.NOTHING,
  }).consumer({ groupId: message.groupId });
  stop = () => consumer.disconnect();
  const run = async () => {
    await consumer.connect();
    await consumer.subscribe({ topic: message.topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        post({ type: 'batch', records: batch.messages.length });
      },
    });
  };
  run().catch((error: unknown) =>
    post({ type: 'failed', message: String(error) }),
  );
});
