/**
 * The starting position of a new consumer group (docs/aws-kafka-esm.md, Offsets and
 * consumer groups), pinned through the Kafka admin API before the mapping polls.
 */
import type { Admin } from 'kafkajs';
import type { LocalMapping } from '../template.ts';

/**
 * docs/aws-kafka-esm.md, Offsets and consumer groups: the starting position applies
 * only to a group with no committed offsets. For LATEST and AT_TIMESTAMP the
 * position is resolved now and committed as the group's start, so that records
 * produced once `start` has returned are never missed (AWS may miss some while an
 * ESM is being created: we choose the deterministic side). Per partition: a
 * partition with no committed offset gets it.
 *
 * @example
 * ```ts
 * await pinStartingPosition(admin, mapping); // before the consumer joins
 * ```
 */
export async function pinStartingPosition(
  admin: Admin,
  mapping: LocalMapping,
): Promise<void> {
  const position = mapping.startingPosition;
  if (position === 'TRIM_HORIZON') return;
  const [committed] = await admin.fetchOffsets({
    groupId: mapping.consumerGroupId,
    topics: [mapping.topic],
  });
  const fresh = new Set(
    (committed?.partitions ?? [])
      .filter((p) => Number(p.offset) < 0)
      .map((p) => p.partition),
  );
  if (fresh.size === 0) return;
  const offsets =
    position === 'LATEST'
      ? (await admin.fetchTopicOffsets(mapping.topic)).map((p) => ({
          partition: p.partition,
          offset: p.high,
        }))
      : await admin.fetchTopicOffsetsByTimestamp(
          mapping.topic,
          // CloudFormation gives Unix seconds (docs/aws-kafka-esm.md, Offsets and
          // consumer groups).
          (mapping.startingPositionTimestamp ?? 0) * 1000,
        );
  const partitions = offsets.filter((p) => fresh.has(p.partition));
  if (partitions.length === 0) return;
  await admin.setOffsets({
    groupId: mapping.consumerGroupId,
    topic: mapping.topic,
    partitions,
  });
}
