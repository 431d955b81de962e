/**
 * When a stream's records were first seen: DynamoDB Local stamps a record's creation
 * time only to the minute, so the mapping notes when it first read each one, reading
 * ahead while a batch is blocked in retries (docs/outbox.md).
 */
import { setTimeout as delay } from 'node:timers/promises';
import {
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
} from '@aws-sdk/client-dynamodb-streams';

/** At most this many records' first sightings are kept (see `stampAhead`). */
const MAX_STAMPS = 100_000;

/**
 * First sightings of records, by `<shard>/<sequence number>`.
 *
 * @example
 * ```ts
 * const stop = sightings.stampAhead(shardId, page.NextShardIterator);
 * // ... deliver the batch, taking each record's sighting ...
 * await stop();
 * ```
 */
export class FirstSightings {
  readonly #streams: DynamoDBStreamsClient;
  readonly #stopped: () => boolean;
  readonly #idlePollMs: number;
  /** When a record was first seen, by `<shard>/<sequence number>` (`stampAhead`). */
  readonly #firstSeen = new Map<string, number>();

  constructor(
    streams: DynamoDBStreamsClient,
    stopped: () => boolean,
    idlePollMs: number,
  ) {
    this.#streams = streams;
    this.#stopped = stopped;
    this.#idlePollMs = idlePollMs;
  }

  /** When the record was first seen, if a look-ahead saw it; forgets it. */
  take(
    shardId: string,
    sequenceNumber: string | undefined,
  ): number | undefined {
    const key = `${shardId}/${sequenceNumber}`;
    const seenAtMs = this.#firstSeen.get(key);
    this.#firstSeen.delete(key);
    return seenAtMs;
  }

  /**
   * While a batch is being delivered (its retries may take minutes), reads on ahead
   * of it and notes when each later record was first seen, so that its creation time
   * (which DynamoDB Local gives only to the minute) is when it was written, give or
   * take a poll, not when the blocked reader got to it (docs/outbox.md). A look-ahead
   * that fails just stops: the read time is then the bound. Returns its stopper.
   */
  stampAhead(shardId: string, from: string | undefined): () => Promise<void> {
    if (from === undefined) return async () => {};
    const done = new AbortController();
    const running = (async () => {
      let iterator: string | undefined = from;
      while (
        iterator !== undefined &&
        !done.signal.aborted &&
        !this.#stopped()
      ) {
        try {
          const page: GetRecordsCommandOutput = await this.#streams.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
            { abortSignal: done.signal },
          );
          const now = Date.now();
          for (const record of page.Records ?? []) {
            const key = `${shardId}/${record.dynamodb?.SequenceNumber}`;
            if (
              !this.#firstSeen.has(key) &&
              this.#firstSeen.size < MAX_STAMPS
            ) {
              this.#firstSeen.set(key, now);
            }
          }
          iterator = page.NextShardIterator;
          if ((page.Records ?? []).length === 0) {
            await delay(this.#idlePollMs, undefined, {
              signal: done.signal,
            }).catch(() => {});
          }
        } catch {
          return;
        }
      }
    })();
    return async () => {
      done.abort();
      await running;
    };
  }
}
