/**
 * Settling a batch (docs/aws-kafka-esm.md, Errors and retries, and Partial batch
 * response): invoke, read the answer, retry with backoff, bisect, give up past the
 * retry quota or the record age limit, and commit as records settle.
 */
import { randomUUID } from 'node:crypto';
import type { InvokeResult, Invoker } from '../lambda.ts';
import type { LocalMapping } from '../template.ts';
import { type BatchEvents, MAX_PAYLOAD_BYTES } from './batch-event.ts';
import type { Polled } from './batching.ts';
import { Abandoned, type EsmClock, type StopSignal } from './clock.ts';
import type { CommitQueue, PartitionProgress } from './commits.ts';
import {
  type EsmInvocation,
  type EsmMetrics,
  offsetRuns,
} from './observability.ts';
import {
  MAXIMUM_PAYLOAD_SIZE_EXCEEDED,
  type OnFailureDestination,
  RECORD_AGE_EXCEEDED,
  RETRIES_EXHAUSTED,
  type ResponseContext,
} from './on-failure-destination.ts';
import { type Outcome, readPartialResponse } from './partial-batch-response.ts';
import { kafkaEvent } from './records/kafka-event.ts';

/**
 * docs/aws-kafka-esm.md, Errors and retries: infinite retries with a destination are
 * silently capped at 10.
 */
const CAPPED_RETRIES_WITH_DESTINATION = 10;

/** What a {@link BatchSettlement} works with. */
export interface BatchSettlementParts {
  readonly mapping: LocalMapping;
  readonly target: Invoker;
  readonly events: BatchEvents;
  readonly destination: OnFailureDestination;
  readonly commits: CommitQueue;
  readonly metrics: EsmMetrics;
  readonly clock: EsmClock;
  readonly backoffMs: (attempt: number) => number;
  readonly stop: StopSignal;
  readonly log: (line: string) => void;
  readonly observe: ((invocation: EsmInvocation) => void) | undefined;
}

/**
 * How a mapping settles each batch it dispatches.
 *
 * @example
 * ```ts
 * const settlement = new BatchSettlement(parts);
 * await settlement.settleBatch(batch); // invoked, retried or given up on, committed
 * ```
 */
export class BatchSettlement {
  readonly #parts: BatchSettlementParts;
  readonly #mapping: LocalMapping;

  constructor(parts: BatchSettlementParts) {
    this.#parts = parts;
    this.#mapping = parts.mapping;
  }

  /**
   * The loop of docs/aws-kafka-esm.md, Errors and retries, for one batch; commits as
   * records settle.
   */
  async settleBatch(batch: readonly Polled[]): Promise<void> {
    const progress = new Map<number, PartitionProgress>();
    let filtered = false;
    for (const record of batch) {
      let tracked = progress.get(record.partition);
      if (tracked === undefined) {
        tracked = { records: [], cursor: 0 };
        progress.set(record.partition, tracked);
      }
      tracked.records.push(record);
      filtered ||= record.filteredOut;
    }
    const done = (records: readonly Polled[]) => {
      for (const record of records) record.settled = true;
      this.#parts.commits.commit(progress);
    };
    try {
      if (filtered) done(batch.filter((r) => r.filteredOut));
      await this.#settle(
        filtered ? batch.filter((r) => !r.filteredOut) : batch,
        0,
        done,
      );
    } catch (error) {
      if (!(error instanceof Abandoned)) {
        this.#parts.log(`batch failed unexpectedly: ${String(error)}`);
      } else {
        this.#parts.log(error.message);
      }
    }
  }

  async #settle(
    records: readonly Polled[],
    attemptsSoFar: number,
    done: (records: readonly Polled[]) => void,
  ): Promise<void> {
    const { destination, stop } = this.#parts;
    let pending = [...records];
    let attempts = attemptsSoFar;
    let lastResponse: ResponseContext | null = null;
    let lastRequestId: string | undefined;
    while (pending.length > 0) {
      if (stop.requested && attempts > attemptsSoFar) throw new Abandoned();
      const expired = this.#expired(pending);
      if (expired.length > 0) {
        await destination.giveUp(
          expired,
          RECORD_AGE_EXCEEDED,
          lastResponse,
          lastRequestId,
        );
        done(expired);
        pending = pending.filter((r) => !expired.includes(r));
        continue;
      }
      if (this.#tooLarge(pending)) {
        await destination.giveUp(
          pending,
          MAXIMUM_PAYLOAD_SIZE_EXCEEDED,
          null,
          undefined,
        );
        done(pending);
        return;
      }
      const requestId = randomUUID();
      const outcome = await this.#invoke(pending, attempts + 1);
      lastRequestId = requestId;
      lastResponse = {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(outcome.kind === 'failure' ? { functionError: 'Unhandled' } : {}),
      };
      if (outcome.kind === 'success') {
        done(pending);
        return;
      }
      if (outcome.kind === 'partial') {
        pending = await this.#settleSucceeded(
          pending,
          outcome.failedFrom,
          done,
        );
      } else {
        this.#parts.log(`invocation failed: ${outcome.reason}`);
        // docs/aws-kafka-esm.md, Errors and retries: bisecting does not use up the
        // retry quota.
        if (this.#mapping.bisectBatchOnFunctionError && pending.length > 1) {
          const half = Math.ceil(pending.length / 2);
          await this.#settle(pending.slice(0, half), attempts, done);
          await this.#settle(pending.slice(half), attempts, done);
          return;
        }
      }
      attempts += 1;
      if (this.#retriesExhausted(attempts)) {
        await destination.giveUp(
          pending,
          RETRIES_EXHAUSTED,
          lastResponse,
          lastRequestId,
        );
        done(pending);
        return;
      }
      if (stop.requested) throw new Abandoned();
      await stop.race(
        this.#parts.clock.sleep(this.#parts.backoffMs(attempts), 'backoff'),
      );
    }
  }

  /**
   * docs/aws-kafka-esm.md, Errors and retries: records older than the maximum age are
   * not sent to the function.
   */
  #expired(pending: readonly Polled[]): Polled[] {
    if (this.#mapping.maximumRecordAgeSeconds < 0) return [];
    const limit = this.#mapping.maximumRecordAgeSeconds * 1000;
    const now = this.#parts.clock.now();
    return pending.filter((r) => now - r.timestamp > limit);
  }

  /**
   * docs/aws-kafka-esm.md, Batching: a record that cannot fit in 6 MB alone is never
   * invoked.
   */
  #tooLarge(pending: readonly Polled[]): boolean {
    const [single] = pending;
    const { events } = this.#parts;
    return (
      pending.length === 1 &&
      single !== undefined &&
      events.envelopeBytes +
        events.partitionKeyBytes(single.partition) +
        single.size >
        MAX_PAYLOAD_BYTES
    );
  }

  /**
   * docs/aws-kafka-esm.md, Partial batch response and Gap 11.3: per partition,
   * everything below the lowest failed offset succeeded and is settled; returns the
   * failed tail, to redeliver from.
   */
  async #settleSucceeded(
    pending: readonly Polled[],
    failedFrom: ReadonlyMap<number, number>,
    done: (records: readonly Polled[]) => void,
  ): Promise<Polled[]> {
    const failed = (r: Polled) => {
      const from = failedFrom.get(r.partition);
      return from !== undefined && r.offset >= from;
    };
    done(pending.filter((r) => !failed(r)));
    // docs/aws-kafka-esm.md, Errors and retries: what succeeded is committed before
    // the failed tail is retried (commits are otherwise pipelined: see
    // CommitQueue in ./commits.ts).
    await this.#parts.commits.inFlight;
    return pending.filter(failed);
  }

  #retriesExhausted(attempts: number): boolean {
    const configured = this.#mapping.maximumRetryAttempts;
    const max =
      configured < 0 && this.#parts.destination.topic !== undefined
        ? CAPPED_RETRIES_WITH_DESTINATION
        : configured;
    return max >= 0 && attempts > max;
  }

  async #invoke(records: readonly Polled[], attempt: number): Promise<Outcome> {
    const { clock, observe } = this.#parts;
    const startedAt = clock.now();
    // Taken before the invocation: the records' buffers are transferred to it.
    const runs = observe ? offsetRuns(records) : [];
    let result: InvokeResult | undefined;
    let outcome: Outcome | undefined;
    try {
      outcome = await this.#invokeOnce(records, (given) => {
        result = given;
      });
      return outcome;
    } finally {
      if (observe && result && outcome) {
        try {
          observe({
            attempt,
            startedAt,
            records: runs,
            result,
            outcome: outcome.kind,
          });
        } catch {
          // An observer never disturbs the mapping.
        }
      }
    }
  }

  async #invokeOnce(
    records: readonly Polled[],
    report: (result: InvokeResult) => void,
  ): Promise<Outcome> {
    const { target, events, metrics } = this.#parts;
    for (const r of records) r.invokeCount += 1;
    metrics.InvokedEventCount += records.length;
    let result: InvokeResult;
    try {
      const packed = events.pack(records);
      // A sandbox builds the event in its own thread; anything else gets it built.
      result = target.invokeKafka
        ? await target.invokeKafka(events.envelope, packed)
        : await target.invoke(kafkaEvent(events.envelope, packed));
    } catch (error) {
      result = {
        ok: false,
        errorType: 'InvokerError',
        errorMessage: String(error),
        timedOut: false,
        durationMs: 0,
      };
    }
    report(result);
    if (!result.ok) {
      metrics.InvokeErrorCount += 1;
      metrics.FailedInvokeEventCount += records.length;
      return {
        kind: 'failure',
        reason: result.timedOut
          ? 'timed out'
          : `${result.errorType}: ${result.errorMessage}`,
      };
    }
    // docs/aws-kafka-esm.md, Partial batch response: without ReportBatchItemFailures
    // the response is ignored.
    if (!this.#mapping.reportBatchItemFailures) return { kind: 'success' };
    const outcome = readPartialResponse(
      result.result,
      this.#mapping.topic,
      records,
    );
    if (outcome.kind !== 'success') {
      metrics.FailedInvokeEventCount += records.length;
    }
    return outcome;
  }
}
