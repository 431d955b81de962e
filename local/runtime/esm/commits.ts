/**
 * Offset commits (docs/aws-kafka-esm.md, Offsets and consumer groups): `last
 * processed + 1` per partition as a batch's records settle, pipelined and coalesced,
 * one request at a time.
 */
import type { KafkaConsumer } from '../kafka-consumer-thread.ts';
import type { Polled } from './batching.ts';
import type { EsmMetrics } from './observability.ts';

/** A batch's records of one partition, in offset order, for its commits. */
export interface PartitionProgress {
  readonly records: Polled[];
  /** Records before it are settled. */
  cursor: number;
}

/** What a {@link CommitQueue} works with. */
export interface CommitQueueParts {
  /** The consumer that commits (none before start). */
  readonly consumer: () => KafkaConsumer | undefined;
  readonly metrics: EsmMetrics;
  readonly log: (line: string) => void;
}

/**
 * A mapping's commits: what its batches have settled, on its way to the broker.
 *
 * @example
 * ```ts
 * commits.commit(progress); // after records of the batch were marked settled
 * await commits.inFlight;   // the broker has answered
 * ```
 */
export class CommitQueue {
  readonly #parts: CommitQueueParts;
  /** The highest commit asked for per partition (the broker may not have it yet). */
  readonly #requested = new Map<number, number>();
  /** Commits waiting for the one on the wire, per partition. */
  readonly #queued = new Map<number, { offset: number; from: number }>();
  #commits: Promise<void> | undefined;

  constructor(parts: CommitQueueParts) {
    this.#parts = parts;
  }

  /** The commits being sent, if any: resolves when none is left to send. */
  get inFlight(): Promise<void> | undefined {
    return this.#commits;
  }

  /** A revoked partition: its next owner starts from the committed offset. */
  forget(partition: number): void {
    this.#requested.delete(partition);
  }

  /**
   * docs/aws-kafka-esm.md, Offsets and consumer groups: commit `last processed + 1`
   * per partition, i.e. the lowest offset of the batch still outstanding (records
   * settle in offset order, except age-expired ones, which never let the commit pass
   * an unsettled record).
   */
  commit(progress: ReadonlyMap<number, PartitionProgress>): void {
    const commits: { partition: number; offset: number; from: number }[] = [];
    for (const [partition, tracked] of progress) {
      const { records } = tracked;
      while (records[tracked.cursor]?.settled) tracked.cursor += 1;
      const [first] = records;
      const last = records.at(-1);
      if (tracked.cursor === 0 || first === undefined || last === undefined) {
        continue;
      }
      const next = records[tracked.cursor]?.offset ?? last.offset + 1;
      const from = this.#requested.get(partition) ?? first.offset;
      if (next <= from) continue;
      commits.push({ partition, offset: next, from });
      this.#requested.set(partition, next);
    }
    const consumer = this.#parts.consumer();
    if (commits.length === 0 || consumer === undefined) return;
    for (const commit of commits) {
      const queued = this.#queued.get(commit.partition);
      this.#queued.set(commit.partition, {
        offset: commit.offset,
        from: queued?.from ?? commit.from,
      });
    }
    this.#commits ??= this.#drain(consumer).finally(() => {
      this.#commits = undefined;
    });
  }

  /**
   * Commits are pipelined and coalesced: a partition's next batch need not wait for
   * the broker to acknowledge this one (the batch has succeeded; the commit only
   * records it), and what settles while a commit is on the wire goes out as one
   * request with the newest offset per partition. One request at a time, so offsets
   * only move forward; stop() waits for the last one before it disconnects.
   */
  async #drain(consumer: KafkaConsumer): Promise<void> {
    while (this.#queued.size > 0) {
      const commits = [...this.#queued];
      this.#queued.clear();
      try {
        await consumer.commit(
          commits.map(([partition, { offset }]) => ({ partition, offset })),
        );
        for (const [, { offset, from }] of commits) {
          this.#parts.metrics.CommittedEventCount += offset - from;
        }
      } catch (error) {
        // At least once (docs/aws-kafka-esm.md, Offsets and consumer groups): a lost
        // commit means a redelivery, never a loss.
        this.#parts.metrics.CommitErrorCount += 1;
        this.#parts.log(`commit failed: ${String(error)}`);
      }
    }
  }
}
