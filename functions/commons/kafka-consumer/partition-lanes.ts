/**
 * Concurrency within a batch (docs/performance.md section "Concurrency within a
 * batch"): the batch grouped by partition, and each partition handled as one lane
 * per key, each lane in offset order, at most `concurrency` lanes at once.
 */
import type { MskRecord } from '../msk-event.ts';
import { RecordInProgress } from './consumed-record.ts';
import type { ConsumerSettings } from './consumer-options.ts';
import type { InvocationClock } from './outage-waits.ts';
import { consumeRecord, type Outcome } from './record-consumption.ts';
import { parse } from './record-validation.ts';

/**
 * Groups records by their own topic and partition (never by parsing the `records`
 * keys), each group in offset order.
 */
export function byPartition(
  records: Readonly<Record<string, readonly MskRecord[]>>,
): MskRecord[][] {
  const topics = new Map<string, Map<number, MskRecord[]>>();
  for (const list of Object.values(records)) {
    for (const record of list) {
      let partitions = topics.get(record.topic);
      if (!partitions) {
        partitions = new Map();
        topics.set(record.topic, partitions);
      }
      const group = partitions.get(record.partition);
      if (group) group.push(record);
      else partitions.set(record.partition, [record]);
    }
  }
  const groups: MskRecord[][] = [];
  for (const partitions of topics.values()) {
    for (const group of partitions.values()) {
      groups.push(group.sort((a, b) => a.offset - b.offset));
    }
  }
  return groups;
}

/**
 * One partition: one lane per key, each in offset order, at most `concurrency`
 * lanes at once. The lowest offset that did not finish, if any; the records that
 * handed events over go to `emitters`.
 */
export async function consumePartition<T>(
  consumer: ConsumerSettings<T>,
  records: readonly MskRecord[],
  tally: Record<Outcome, number>,
  context: InvocationClock | undefined,
  emitters: RecordInProgress[],
): Promise<number | undefined> {
  const { options } = consumer;
  // The key's base64 text names its lane; keyless records share the null lane.
  const lanes = new Map<string | null, MskRecord[]>();
  for (const record of records) {
    const id = record.key ?? null;
    const lane = lanes.get(id);
    if (lane) lane.push(record);
    else lanes.set(id, [record]);
  }
  const queue = [...lanes.values()];
  let next = 0;
  let lowestFailed: number | undefined;
  const work = async () => {
    for (let lane = queue[next++]; lane; lane = queue[next++]) {
      for (const record of lane) {
        let progress: RecordInProgress | undefined;
        let outcome: Outcome;
        try {
          progress = new RecordInProgress(
            record,
            parse(record),
            options.name,
            options.logger,
          );
          outcome = await consumeRecord(consumer, progress, context);
        } catch (error) {
          // Only a logger or a clock could throw here; stop rather than skip.
          options.logger.error('record consumption crashed', {
            error,
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
          });
          outcome = 'failed';
        }
        tally[outcome] += 1;
        if (outcome === 'failed') {
          lowestFailed = Math.min(lowestFailed ?? record.offset, record.offset);
          break;
        }
        if (progress?.emission) emitters.push(progress);
      }
    }
  };
  const workers = Math.min(consumer.concurrency, queue.length);
  if (workers === 1) await work();
  else await Promise.all(Array.from({ length: workers }, work));
  return lowestFailed;
}
