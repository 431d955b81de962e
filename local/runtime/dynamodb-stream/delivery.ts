/**
 * Delivering a shard's batch to the function (docs/outbox.md, "The local stream
 * mapping"): filtered, invoked, retried with a doubling pause, bisected, and given up
 * (logged as the on-failure record) past the retry or record age limit.
 */
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import type { LocalStreamMapping } from '../template.ts';
import type { FirstSightings } from './first-sightings.ts';
import type { StreamMappingOptions, StreamTarget } from './mapping.ts';
import { firstFailure } from './partial-batch-response.ts';
import { type LambdaStreamRecord, toLambdaRecord } from './stream-records.ts';

/** What a {@link BatchDelivery} works with. */
export interface BatchDeliveryParts {
  readonly mapping: LocalStreamMapping;
  readonly target: StreamTarget;
  readonly streamArn: string;
  readonly region: string;
  readonly options: StreamMappingOptions;
  readonly filters: readonly ((record: unknown) => boolean)[];
  readonly sightings: FirstSightings;
  readonly log: (line: string) => void;
  /** Waits `ms`, or less when the mapping stops. */
  readonly pause: (ms: number) => Promise<void>;
  readonly stopped: () => boolean;
}

/**
 * How a stream mapping delivers batches, and its counts.
 *
 * @example
 * ```ts
 * await delivery.deliver(shardId, page.Records ?? []);
 * delivery.stats(); // { invoked: 3, filteredOut: 0, givenUp: 0 }
 * ```
 */
export class BatchDelivery {
  readonly #parts: BatchDeliveryParts;
  #invoked = 0;
  #filteredOut = 0;
  #givenUp = 0;

  constructor(parts: BatchDeliveryParts) {
    this.#parts = parts;
  }

  stats() {
    return {
      invoked: this.#invoked,
      filteredOut: this.#filteredOut,
      givenUp: this.#givenUp,
    };
  }

  /** Delivers one batch of a shard, retried until done or given up. */
  async deliver(shardId: string, records: readonly _Record[]): Promise<void> {
    const { filters, sightings, streamArn, region } = this.#parts;
    const events: LambdaStreamRecord[] = [];
    const readAtMs = Date.now();
    for (const record of records) {
      const seenAtMs = sightings.take(shardId, record.dynamodb?.SequenceNumber);
      const event = toLambdaRecord(
        record,
        streamArn,
        region,
        Math.min(readAtMs, seenAtMs ?? readAtMs),
      );
      if (filters.length > 0 && !filters.some((f) => f(event))) {
        this.#filteredOut += 1;
      } else {
        events.push(event);
      }
    }
    if (events.length > 0) await this.#deliverBatch(shardId, events);
  }

  async #deliverBatch(
    shardId: string,
    batch: readonly LambdaStreamRecord[],
  ): Promise<void> {
    const { mapping, options } = this.#parts;
    let pending = batch;
    let retries = 0;
    let pause = options.retryDelayMs ?? 500;
    while (pending.length > 0 && !this.#parts.stopped()) {
      this.#invoked += pending.length;
      const result = await this.#parts.target.invoke({ Records: pending });
      const failedFrom = firstFailure(result, pending, mapping);
      if (failedFrom === undefined) return;
      const reason = result.ok
        ? `batch item failure at ${failedFrom}`
        : `${result.errorType}: ${result.errorMessage}`;
      pending = pending.slice(failedFrom);
      if (
        mapping.bisectBatchOnFunctionError &&
        !result.ok &&
        pending.length > 1
      ) {
        const half = Math.ceil(pending.length / 2);
        await this.#deliverBatch(shardId, pending.slice(0, half));
        await this.#deliverBatch(shardId, pending.slice(half));
        return;
      }
      retries += 1;
      const oldest = Number(
        (pending[0]?.dynamodb as { ApproximateCreationDateTime?: number })
          ?.ApproximateCreationDateTime ?? 0,
      );
      const tooOld =
        mapping.maximumRecordAgeSeconds >= 0 &&
        Date.now() / 1000 - oldest > mapping.maximumRecordAgeSeconds;
      if (
        tooOld ||
        (mapping.maximumRetryAttempts >= 0 &&
          retries > mapping.maximumRetryAttempts)
      ) {
        this.#giveUp(
          shardId,
          pending,
          tooOld ? 'RecordAgeExceeded' : 'RetriesExhausted',
          reason,
        );
        return;
      }
      this.#parts.log(`${reason}; retry ${retries} in ${pause} ms`);
      await this.#parts.pause(pause);
      pause = Math.min(pause * 2, options.maxRetryDelayMs ?? 5000);
    }
  }

  #giveUp(
    shardId: string,
    records: readonly LambdaStreamRecord[],
    condition: string,
    reason: string,
  ): void {
    this.#givenUp += 1;
    const first = records[0]?.dynamodb as { SequenceNumber?: string };
    const last = records.at(-1)?.dynamodb as { SequenceNumber?: string };
    this.#parts.log(
      `gave up ${records.length} record(s) (${condition}: ${reason}); on-failure ${
        this.#parts.mapping.onFailureDestination ?? '(none)'
      } would get ${JSON.stringify({
        requestContext: { condition, functionArn: this.#parts.target.name },
        DDBStreamBatchInfo: {
          shardId,
          startSequenceNumber: first?.SequenceNumber,
          endSequenceNumber: last?.SequenceNumber,
          batchSize: records.length,
          streamArn: this.#parts.streamArn,
        },
      })}`,
    );
  }
}
