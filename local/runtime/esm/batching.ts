/**
 * Batching (docs/aws-kafka-esm.md, Batching, and Ordering and concurrency): fetched
 * records wait in a buffer per partition; a dispatcher cuts batches from partitions
 * with no batch in flight, bounded by the batch size, the batching window and 6 MB,
 * and runs up to `maxInFlight` of them at once. A full buffer pauses its partition's
 * fetch.
 */
import type { KafkaConsumer } from '../kafka-consumer-thread.ts';
import type { LocalMapping } from '../template.ts';
import { type BatchEvents, MAX_PAYLOAD_BYTES } from './batch-event.ts';
import type { EsmClock, StopSignal } from './clock.ts';
import type { Filter } from './filters.ts';
import type { EsmMetrics } from './observability.ts';
import { type HeldRecord, holdRecords } from './records/held-records.ts';
import type { PackedRecords } from './records/packed-records.ts';

/**
 * A polled record: held in the buffer it was fetched in, plus what the mapping
 * tracks. One object per record, made once at fetch time; the event itself is built
 * only when the record is invoked, and by the function's sandbox.
 */
export interface Polled extends HeldRecord {
  /**
   * Filtered out (docs/aws-kafka-esm.md, Filtering): never invoked, committed past.
   */
  filteredOut: boolean;
  invokeCount: number;
  /** Done with: succeeded, filtered out or given up on. */
  settled: boolean;
}

/**
 * Serialized bytes a partition's buffer may hold beyond one batch before its fetch is
 * paused: a few kafkajs fetches (1 MiB per partition each). A buffer of a single
 * batch runs dry before the next fetch comes back (kafkajs sleeps `maxWaitTimeInMs`
 * when every partition is paused), and then the fetch loop, not the function, sets
 * the pace. Buffering is invisible to the function: offsets are committed only as
 * records settle, and a revoked partition's buffer is dropped.
 */
const PREFETCH_BYTES = 4 * 1024 * 1024;

/** Bytes a record adds to an event: its entry and the comma after it. */
function eventBytes(record: HeldRecord): number {
  return record.size + 1;
}

/** A partition's records from their fetch to their batch, in offset order. */
interface PartitionBuffer {
  readonly records: Polled[];
  /** Event bytes of all the records (what the prefetch bound counts). */
  bytes: number;
  /** The records the function will see (not filtered out), and their bytes. */
  waiting: number;
  waitingBytes: number;
}

/** Counts a record into (`1`) or out of (`-1`) its partition buffer's totals. */
function tally(buffer: PartitionBuffer, record: Polled, sign: 1 | -1): void {
  const bytes = sign * eventBytes(record);
  buffer.bytes += bytes;
  if (record.filteredOut) return;
  buffer.waiting += sign;
  buffer.waitingBytes += bytes;
}

/** What a {@link Batcher} works with. */
export interface BatcherParts {
  readonly mapping: LocalMapping;
  readonly events: BatchEvents;
  readonly filters: readonly Filter[];
  readonly metrics: EsmMetrics;
  readonly clock: EsmClock;
  readonly stop: StopSignal;
  /** Batches at once, over disjoint partitions (at least 1). */
  readonly maxInFlight: number;
  /** The consumer whose fetches are paused and resumed (none before start). */
  readonly consumer: () => KafkaConsumer | undefined;
  /** Invokes one batch until it is settled, committing as it goes. */
  readonly settle: (batch: readonly Polled[]) => Promise<void>;
}

/**
 * The buffers of a mapping's partitions and the dispatcher that cuts and runs their
 * batches.
 *
 * @example
 * ```ts
 * const batcher = new Batcher({ mapping, events, filters, ..., settle });
 * batcher.fetched(0, packed); // buffers them and dispatches what is ready
 * ```
 */
export class Batcher {
  readonly #parts: BatcherParts;
  readonly #mapping: LocalMapping;
  readonly #windowMs: number;
  readonly #buffers = new Map<number, PartitionBuffer>();
  /** Next offset expected per partition: a re-fetch after a rejoin is dropped. */
  readonly #nextOffset = new Map<number, number>();
  readonly #paused = new Set<number>();
  readonly #inFlight = new Set<number>();
  readonly #running = new Set<Promise<void>>();
  #rotation = 0;
  #windowToken = 0;
  #windowOpen = false;
  #windowElapsed = false;

  constructor(parts: BatcherParts) {
    this.#parts = parts;
    this.#mapping = parts.mapping;
    this.#windowMs = Math.max(
      0,
      parts.mapping.maximumBatchingWindowSeconds * 1000,
    );
  }

  /**
   * Drops the buffers of the partitions not in `assigned` (revoked: whoever owns
   * them now reads them from the committed offset) and returns those partitions.
   */
  keepOnly(assigned: ReadonlySet<number>): number[] {
    const revoked: number[] = [];
    for (const partition of [...this.#buffers.keys()]) {
      if (assigned.has(partition)) continue;
      this.#buffers.delete(partition);
      this.#nextOffset.delete(partition);
      this.#paused.delete(partition);
      revoked.push(partition);
    }
    return revoked;
  }

  /** Records fetched and not yet handed to a batch. */
  buffered(): number {
    let total = 0;
    for (const buffer of this.#buffers.values()) total += buffer.records.length;
    return total;
  }

  /** Batches being invoked (or retried) right now. */
  inFlight(): number {
    return this.#running.size;
  }

  /** Resolves once no batch is in flight (call after stop was requested). */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** An open batching window no longer dispatches when it elapses. */
  closeWindow(): void {
    this.#windowToken += 1;
  }

  fetched(partition: number, packed: PackedRecords): void {
    const buffer = this.#buffer(partition);
    // The hot loop of the mapping (every record passes here): the records stay in
    // the buffer they arrived in, one object each. No event is built here.
    const filtering = this.#parts.filters.length > 0;
    let expected = this.#nextOffset.get(partition);
    let polled = 0;
    let filtered = 0;
    const records = holdRecords(
      packed,
      (held): Polled => ({
        ...held,
        filteredOut: false,
        invokeCount: 0,
        settled: false,
      }),
    );
    for (const record of records) {
      const offset = record.offset;
      if (expected !== undefined && offset < expected) continue;
      expected = offset + 1;
      if (filtering && !this.#passesFilters(record)) {
        record.filteredOut = true;
        filtered += 1;
      }
      polled += 1;
      buffer.records.push(record);
      tally(buffer, record, 1);
    }
    if (expected !== undefined) this.#nextOffset.set(partition, expected);
    this.#parts.metrics.PolledEventCount += polled;
    this.#parts.metrics.FilteredOutEventCount += filtered;
    this.#applyBackpressure(partition);
    this.#dispatch();
  }

  /**
   * docs/aws-kafka-esm.md, Filtering: filters see the record as the function would.
   */
  #passesFilters(held: HeldRecord): boolean {
    const [record] = Object.values(
      this.#parts.events.event([held]).records,
    ).flat();
    return record !== undefined && this.#parts.filters.some((f) => f(record));
  }

  /**
   * Keeps the buffer near one batch plus {@link PREFETCH_BYTES} per partition: pause
   * the fetch beyond it.
   */
  #applyBackpressure(partition: number): void {
    const buffer = this.#buffer(partition);
    const full =
      buffer.records.length >= this.#mapping.batchSize &&
      buffer.bytes >= PREFETCH_BYTES;
    if (full && !this.#paused.has(partition)) {
      this.#paused.add(partition);
      this.#parts.consumer()?.pause([partition]);
    } else if (
      !full &&
      this.#paused.has(partition) &&
      !this.#parts.stop.requested
    ) {
      this.#paused.delete(partition);
      this.#parts.consumer()?.resume([partition]);
    }
  }

  /**
   * docs/aws-kafka-esm.md, Batching: invoke when the batch size or 6 MB is reached, or
   * when the window that opened with the first waiting record has elapsed (0: at
   * once).
   */
  #dispatch(): void {
    const { stop } = this.#parts;
    while (!stop.requested && this.#running.size < this.#parts.maxInFlight) {
      // The partitions that hold records and have none in flight, and what they
      // hold for the function.
      const eligible: number[] = [];
      let waiting = 0;
      let bytes = this.#parts.events.envelopeBytes;
      for (const [partition, buffer] of this.#buffers) {
        if (buffer.records.length === 0 || this.#inFlight.has(partition)) {
          continue;
        }
        eligible.push(partition);
        waiting += buffer.waiting;
        bytes += buffer.waitingBytes;
      }
      if (eligible.length === 0) return;
      eligible.sort((a, b) => a - b);
      const full =
        waiting >= this.#mapping.batchSize ||
        bytes >= MAX_PAYLOAD_BYTES ||
        // Only filtered-out records: nothing to wait for, just commit past them.
        waiting === 0;
      if (!full && !this.#windowElapsed && this.#windowMs > 0) {
        this.#openWindow();
        return;
      }
      this.#windowElapsed = false;
      this.#windowOpen = false;
      this.#windowToken += 1;
      const { batch, partitions } = this.#take(eligible);
      const running = this.#parts.settle(batch).finally(() => {
        this.#running.delete(running);
        for (const partition of partitions) this.#inFlight.delete(partition);
        this.#dispatch();
      });
      this.#running.add(running);
    }
  }

  #openWindow(): void {
    if (this.#windowOpen) return;
    this.#windowOpen = true;
    const token = this.#windowToken;
    const { clock, stop } = this.#parts;
    void stop.race(clock.sleep(this.#windowMs, 'window')).then(() => {
      if (token !== this.#windowToken || stop.requested) return;
      this.#windowOpen = false;
      this.#windowElapsed = true;
      this.#dispatch();
    });
  }

  /**
   * Cuts one batch: whole prefixes of each partition's buffer, in offset order, up to
   * the batch size and 6 MB (at least one record, so an oversized one surfaces). The
   * starting partition rotates so that no partition starves.
   */
  #take(partitions: readonly number[]): {
    batch: Polled[];
    /** The partitions it took from: in flight until the batch settles. */
    partitions: number[];
  } {
    const taken: Polled[] = [];
    const from: number[] = [];
    let count = 0;
    let bytes = this.#parts.events.envelopeBytes;
    const start = this.#rotation++ % partitions.length;
    const order = [...partitions.slice(start), ...partitions.slice(0, start)];
    for (const partition of order) {
      const buffer = this.#buffer(partition);
      let n = 0;
      // Each new partition key adds `"<topic>-<p>":[],` to the event.
      const keyBytes = this.#parts.events.partitionKeyBytes(partition) + 1;
      for (const polled of buffer.records) {
        if (!polled.filteredOut) {
          const extra = eventBytes(polled) + (n === 0 ? keyBytes : 0);
          if (count >= this.#mapping.batchSize) break;
          if (count > 0 && bytes + extra > MAX_PAYLOAD_BYTES) break;
          count += 1;
          bytes += extra;
        }
        n += 1;
      }
      if (n === 0) continue;
      const cut = buffer.records.splice(0, n);
      for (const polled of cut) tally(buffer, polled, -1);
      taken.push(...cut);
      this.#inFlight.add(partition);
      from.push(partition);
      this.#applyBackpressure(partition);
      if (count >= this.#mapping.batchSize) break;
    }
    return { batch: taken, partitions: from };
  }

  /** The partition's buffer, made empty the first time it is asked for. */
  #buffer(partition: number): PartitionBuffer {
    let buffer = this.#buffers.get(partition);
    if (buffer === undefined) {
      buffer = { records: [], bytes: 0, waiting: 0, waitingBytes: 0 };
      this.#buffers.set(partition, buffer);
    }
    return buffer;
  }
}
