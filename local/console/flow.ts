/**
 * The console's Flow view (docs/console.md): per event source mapping, its settings
 * from the model, records per second, batches in flight and invocations from the
 * observer, and per partition the group's committed offset, the partition's end and
 * the lag between them, read with kafkajs admin calls. Offsets are read every 2 s
 * only while a console stream is open, and once per `GET /_console/api/flow` else.
 */
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { messageOf } from '#commons/guards.ts';
import type { LocalMapping } from '../runtime/template.ts';
import { withDeadline } from './deadline.ts';
import type { FunctionStats, RuntimeObserver } from './observer.ts';

/** One partition of a mapping's topic. */
export interface PartitionLag {
  readonly partition: number;
  /** The group's committed offset; null when the group has committed none. */
  readonly committed: string | null;
  /** The partition's end (the offset the next record gets). */
  readonly end: string;
  readonly lag: number;
}

/** One mapping, as the Flow view shows it. */
export interface MappingFlow {
  readonly id: string;
  readonly name: string;
  readonly topic: string;
  readonly function: string;
  readonly batchSize: number;
  readonly windowSeconds: number;
  readonly recordsPerSecond: number;
  readonly inFlight: number;
  readonly invocations: number;
  readonly partitions: readonly PartitionLag[];
  readonly lag: number;
}

/** The body of `GET /_console/api/flow` and of the stream's `flow` events. */
export interface FlowSnapshot {
  readonly mappings: readonly MappingFlow[];
  readonly functions: readonly FunctionStats[];
  readonly at: string;
}

/**
 * Records a group has yet to process on one partition: from its committed offset
 * (or, with none committed, from the partition's start) to the end. Offsets are
 * int64 decimal strings; a committed offset past the end (the topic was emptied
 * and recreated) counts as no lag.
 *
 * @example
 * ```ts
 * partitionLag({ committed: '7', end: '10', start: '0' }); // 3
 * partitionLag({ committed: null, end: '10', start: '4' }); // 6
 * ```
 */
export function partitionLag(offsets: {
  readonly committed: string | null;
  readonly end: string;
  readonly start: string;
}): number {
  const end = BigInt(offsets.end);
  const from =
    offsets.committed === null
      ? BigInt(offsets.start)
      : BigInt(offsets.committed);
  const lag = end - from;
  return lag > 0n ? Number(lag) : 0;
}

/**
 * A committed offset as kafkajs reports it: `-1` (none) becomes null.
 *
 * @example
 * ```ts
 * committedOffset('-1'); // null
 * ```
 */
export function committedOffset(offset: string): string | null {
  return /^\d+$/.test(offset) ? offset : null;
}

/** What the flow monitor reads of a running mapping. */
export interface MappingHandle {
  readonly mapping: LocalMapping;
  inFlight(): number;
}

/** Options of {@link FlowMonitor}. */
export interface FlowMonitorOptions {
  readonly brokers: readonly string[];
  /** The running mappings (read each time: they start after the console). */
  readonly mappings: () => readonly MappingHandle[];
  /** The local name of a function, by logical id. */
  readonly functionName: (logicalId: string) => string;
  readonly functionNames: readonly string[];
  readonly observer: RuntimeObserver;
  readonly log: (line: string) => void;
}

/** How often offsets are read while a stream is open. */
export const OFFSETS_EVERY_MS = 2_000;
/** Deadline of one round of offset reads. */
const OFFSETS_DEADLINE_MS = 10_000;

/**
 * Reads the mappings' offsets and puts the Flow view together.
 *
 * @example
 * ```ts
 * const flow = new FlowMonitor({ brokers, mappings: () => running, functionName, functionNames, observer, log });
 * const snapshot = await flow.snapshot();
 * await flow.stop();
 * ```
 */
export class FlowMonitor {
  readonly #options: FlowMonitorOptions;
  readonly #kafka: Kafka;
  #admin: Promise<Admin> | undefined;
  #offsets = new Map<string, readonly PartitionLag[]>();
  #readAt = 0;
  #reading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #stopped = false;

  constructor(options: FlowMonitorOptions) {
    this.#options = options;
    this.#kafka = new Kafka({
      clientId: 'local-console-flow',
      brokers: [...options.brokers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 5_000,
      retry: { retries: 1 },
    });
  }

  /** Reads offsets every 2 s until {@link FlowMonitor.pause}. */
  poll(): void {
    if (this.#timer || this.#stopped) return;
    void this.#read();
    this.#timer = setInterval(() => void this.#read(), OFFSETS_EVERY_MS);
  }

  pause(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The Flow view now: offsets as last read (read first when they are older than
   * the polling period), the rest from the observer and the mappings.
   */
  async snapshot(): Promise<FlowSnapshot> {
    if (Date.now() - this.#readAt > OFFSETS_EVERY_MS) await this.#read();
    return this.current();
  }

  /** The Flow view with the offsets as last read. */
  current(): FlowSnapshot {
    const { observer, functionName, functionNames } = this.#options;
    const mappings = this.#options.mappings().map((handle): MappingFlow => {
      const { mapping } = handle;
      const fn = functionName(mapping.functionLogicalId);
      const partitions = this.#offsets.get(mapping.logicalId) ?? [];
      const stats = observer.mappingStats(mapping.logicalId);
      return {
        id: mapping.logicalId,
        name: `${mapping.topic} -> ${fn}`,
        topic: mapping.topic,
        function: fn,
        batchSize: mapping.batchSize,
        windowSeconds: mapping.maximumBatchingWindowSeconds,
        recordsPerSecond: stats.recordsPerSecond,
        inFlight: handle.inFlight(),
        invocations: stats.invocations,
        partitions,
        lag: partitions.reduce((sum, p) => sum + p.lag, 0),
      };
    });
    return {
      mappings,
      functions: observer.functionStats(functionNames),
      at: new Date().toISOString(),
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.pause();
    await this.#reading;
    const admin = this.#admin;
    this.#admin = undefined;
    if (admin) {
      await admin
        .then((a) => withDeadline(a.disconnect(), 'disconnecting', 5_000))
        .catch(() => {});
    }
  }

  /** One round of reads at a time; a round that fails keeps the last offsets. */
  #read(): Promise<void> {
    this.#reading ??= this.#readOffsets()
      .then(() => {
        if (this.#failing)
          this.#options.log('[console] offsets readable again');
        this.#failing = false;
      })
      .catch((error: unknown) => {
        if (!this.#failing && !this.#stopped) {
          this.#options.log(
            `[console] reading the mappings' offsets failed (${messageOf(error)}): lag shows the last values read`,
          );
        }
        this.#failing = true;
        // A connection that failed is made again next time.
        const admin = this.#admin;
        this.#admin = undefined;
        void admin?.then((a) => a.disconnect()).catch(() => {});
      })
      .finally(() => {
        this.#readAt = Date.now();
        this.#reading = undefined;
      });
    return this.#reading;
  }

  async #readOffsets(): Promise<void> {
    if (this.#stopped) return;
    this.#admin ??= (async () => {
      const admin = this.#kafka.admin();
      await admin.connect();
      return admin;
    })();
    const admin = await withDeadline(
      this.#admin,
      'connecting',
      OFFSETS_DEADLINE_MS,
    );
    const handles = this.#options.mappings();
    const topics = [...new Set(handles.map((h) => h.mapping.topic))];
    const ends = new Map(
      await withDeadline(
        Promise.all(
          topics.map(
            async (topic) =>
              [topic, await admin.fetchTopicOffsets(topic)] as const,
          ),
        ),
        'reading the topics offsets',
        OFFSETS_DEADLINE_MS,
      ),
    );
    const next = new Map<string, readonly PartitionLag[]>();
    await withDeadline(
      Promise.all(
        handles.map(async ({ mapping }) => {
          const [committed] = await admin.fetchOffsets({
            groupId: mapping.consumerGroupId,
            topics: [mapping.topic],
          });
          const byPartition = new Map(
            (committed?.partitions ?? []).map((p) => [p.partition, p.offset]),
          );
          const partitions = (ends.get(mapping.topic) ?? [])
            .map((p) => {
              const done = committedOffset(
                byPartition.get(p.partition) ?? '-1',
              );
              return {
                partition: p.partition,
                committed: done,
                end: p.high,
                lag: partitionLag({
                  committed: done,
                  end: p.high,
                  start: p.low,
                }),
              };
            })
            .sort((a, b) => a.partition - b.partition);
          next.set(mapping.logicalId, partitions);
        }),
      ),
      'reading the groups offsets',
      OFFSETS_DEADLINE_MS,
    );
    this.#offsets = next;
  }
}

/**
 * Collects order ids and hands them over at most once per `everyMs` (the first at
 * once, later ones when the period has passed): the stream's `orders` events.
 *
 * @example
 * ```ts
 * const throttle = new Throttle(500, (ids) => send({ changed: ids }));
 * throttle.add('o-1'); // sent at once
 * throttle.add('o-2'); throttle.add('o-3'); // sent together, 500 ms later
 * ```
 */
export class Throttle {
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #lastAt = Number.NEGATIVE_INFINITY;

  readonly #everyMs: number;
  readonly #flush: (ids: string[]) => void;
  readonly #now: () => number;

  constructor(
    everyMs: number,
    flush: (ids: string[]) => void,
    now: () => number = Date.now,
  ) {
    this.#everyMs = everyMs;
    this.#flush = flush;
    this.#now = now;
  }

  add(id: string): void {
    this.#pending.add(id);
    if (this.#timer) return;
    const wait = this.#lastAt + this.#everyMs - this.#now();
    if (wait <= 0) {
      this.#send();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#send();
    }, wait);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }

  #send(): void {
    if (this.#pending.size === 0) return;
    const ids = [...this.#pending];
    this.#pending.clear();
    this.#lastAt = this.#now();
    this.#flush(ids);
  }
}
