/**
 * What the local console knows of the runtime's invocations (docs/console.md): every
 * invocation of every function, kept in a bounded ring buffer, and counters per
 * function and per event source mapping. The runtime tells it of each invocation
 * once it has ended (system.ts wraps the functions' `invoke`; each mapping's
 * `observe` option reports its Kafka invocations with their attempt number and
 * records). Recording is an append and a few counters: nothing more happens unless
 * a console listens (`subscribe`).
 */

import { isRecord } from '#commons/guards.ts';
import type { EsmInvocation, OffsetRun } from '../runtime/esm/observability.ts';
import type { InvokeResult, LocalLambda } from '../runtime/lambda.ts';

/** Invocations kept in memory (the oldest are forgotten first). */
export const MAX_INVOCATIONS = 5_000;

/** Durations kept per function for its percentiles. */
const DURATION_SAMPLES = 1_000;

/** The window records per second are measured over. */
const RATE_WINDOW_MS = 10_000;

/**
 * A fixed-size buffer that forgets its oldest item when full.
 *
 * @example
 * ```ts
 * const ring = new RingBuffer<number>(2);
 * ring.push(1); ring.push(2); ring.push(3);
 * ring.toArray(); // [2, 3]
 * ```
 */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #size = 0;

  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer`);
    }
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends; returns the item it pushed out, if it was full. */
  push(item: T): T | undefined {
    const evicted =
      this.#size === this.capacity ? this.#items[this.#next] : undefined;
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
    return evicted;
  }

  /** Oldest first. */
  toArray(): T[] {
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    const out: T[] = [];
    for (let i = 0; i < this.#size; i += 1) {
      out.push(this.#items[(start + i) % this.capacity] as T);
    }
    return out;
  }
}

/**
 * The `p`th percentile (0-100) of `values` by the nearest-rank method; null when
 * there are none.
 *
 * @example
 * ```ts
 * percentile([5, 1, 3], 50); // 3
 * ```
 */
export function percentile(
  values: readonly number[],
  p: number,
): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

/**
 * Counts per second over a sliding window, from timestamped counts.
 *
 * @example
 * ```ts
 * const rate = new RateWindow(10_000);
 * rate.add(1_000, 50);
 * rate.perSecond(5_000); // 5
 * ```
 */
export class RateWindow {
  readonly #samples: { at: number; count: number }[] = [];

  readonly windowMs: number;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  add(at: number, count: number): void {
    this.#samples.push({ at, count });
    this.#trim(at);
  }

  /** The count in the window ending at `now`, per second of the window. */
  perSecond(now: number): number {
    this.#trim(now);
    let total = 0;
    for (const sample of this.#samples) total += sample.count;
    return Math.round((total * 1000 * 100) / this.windowMs) / 100;
  }

  #trim(now: number): void {
    while ((this.#samples[0]?.at ?? now) <= now - this.windowMs) {
      this.#samples.shift();
    }
  }
}

/** How an invocation ended, as the console shows it. */
export type InvocationResult = 'ok' | 'error' | 'timeout' | 'partial';

/** One invocation, as the console keeps it. */
export interface ObservedInvocation {
  /** Increasing with each observed invocation. */
  readonly seq: number;
  /** Epoch milliseconds when it started. */
  readonly startedAt: number;
  /** The function's local name (`payment`). */
  readonly function: string;
  /** The mapping's logical id, for Kafka invocations. */
  readonly mappingId: string | null;
  /** `topic -> function`, for Kafka invocations. */
  readonly mapping: string | null;
  readonly topic: string | null;
  readonly requestId: string | null;
  readonly durationMs: number;
  readonly coldStart: boolean;
  readonly result: InvocationResult;
  readonly error: string | null;
  /** 1 = first try, 2.. = retries of the same batch; 1 for other invocations. */
  readonly attempt: number;
  /** The Kafka records it carried, as offset runs. */
  readonly records: readonly OffsetRun[];
  /** For HTTP invocations: the route key, the path and the Location answered. */
  readonly http: {
    readonly routeKey: string;
    readonly path: string;
    readonly location: string | null;
  } | null;
}

/** Counters of one function. */
export interface FunctionStats {
  readonly name: string;
  readonly invocations: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly coldStarts: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

interface MutableFunctionStats {
  invocations: number;
  errors: number;
  timeouts: number;
  coldStarts: number;
  readonly durations: RingBuffer<number>;
}

interface MutableMappingStats {
  invocations: number;
  readonly rate: RateWindow;
}

/**
 * Keeps the last {@link MAX_INVOCATIONS} invocations and counters per function and
 * mapping.
 *
 * @example
 * ```ts
 * const observer = new RuntimeObserver();
 * const lambda = observer.wrap(startLocalLambda(fn));
 * observer.subscribe((invocation) => console.log(invocation.function));
 * ```
 */
export class RuntimeObserver {
  readonly #invocations: RingBuffer<ObservedInvocation>;
  readonly #functions = new Map<string, MutableFunctionStats>();
  readonly #mappings = new Map<string, MutableMappingStats>();
  readonly #listeners = new Set<(invocation: ObservedInvocation) => void>();
  readonly #now: () => number;
  #seq = 0;

  constructor(
    options: { readonly capacity?: number; readonly now?: () => number } = {},
  ) {
    this.#invocations = new RingBuffer(options.capacity ?? MAX_INVOCATIONS);
    this.#now = options.now ?? Date.now;
  }

  /**
   * The function, with each `invoke` observed (HTTP, schedule and stream events);
   * `invokeKafka` is left as it is: the mapping's `observe` reports those, with
   * their attempt and records ({@link RuntimeObserver.kafkaObserver}).
   */
  wrap(lambda: LocalLambda): LocalLambda {
    const invoke = async (event: unknown) => {
      const startedAt = this.#now();
      const result = await lambda.invoke(event);
      this.#record({
        startedAt,
        function: lambda.name,
        mappingId: null,
        mapping: null,
        topic: null,
        attempt: 1,
        records: [],
        http: httpOf(event, result),
        ...resultOf(result),
      });
      return result;
    };
    return {
      name: lambda.name,
      invoke,
      invokeKafka: (envelope, records) => lambda.invokeKafka(envelope, records),
      reload: () => lambda.reload(),
      stop: () => lambda.stop(),
    };
  }

  /** The `observe` option of one mapping. */
  kafkaObserver(mapping: {
    readonly logicalId: string;
    readonly topic: string;
    readonly functionName: string;
  }): (invocation: EsmInvocation) => void {
    const name = `${mapping.topic} -> ${mapping.functionName}`;
    return (invocation) => {
      let stats = this.#mappings.get(mapping.logicalId);
      if (stats === undefined) {
        stats = { invocations: 0, rate: new RateWindow(RATE_WINDOW_MS) };
        this.#mappings.set(mapping.logicalId, stats);
      }
      stats.invocations += 1;
      let count = 0;
      for (const run of invocation.records) count += run.to - run.from + 1;
      stats.rate.add(this.#now(), count);
      const base = resultOf(invocation.result);
      this.#record({
        startedAt: invocation.startedAt,
        function: mapping.functionName,
        mappingId: mapping.logicalId,
        mapping: name,
        topic: mapping.topic,
        attempt: invocation.attempt,
        records: invocation.records,
        http: null,
        ...base,
        result:
          invocation.outcome === 'partial' && base.result === 'ok'
            ? 'partial'
            : base.result,
        error:
          invocation.outcome === 'partial' && base.error === null
            ? 'partial batch response: some records failed'
            : base.error,
      });
    };
  }

  /** Called with each invocation as it is recorded; returns the unsubscribe. */
  subscribe(listener: (invocation: ObservedInvocation) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** The invocations kept, oldest first. */
  invocations(): ObservedInvocation[] {
    return this.#invocations.toArray();
  }

  /** Counters per function, by name. */
  functionStats(names: readonly string[]): FunctionStats[] {
    return names.map((name) => {
      const stats = this.#functions.get(name);
      const durations = stats?.durations.toArray() ?? [];
      return {
        name,
        invocations: stats?.invocations ?? 0,
        errors: stats?.errors ?? 0,
        timeouts: stats?.timeouts ?? 0,
        coldStarts: stats?.coldStarts ?? 0,
        p50Ms: roundMs(percentile(durations, 50)),
        p99Ms: roundMs(percentile(durations, 99)),
      };
    });
  }

  /** A mapping's invocation count and records per second (last 10 s). */
  mappingStats(logicalId: string): {
    invocations: number;
    recordsPerSecond: number;
  } {
    const stats = this.#mappings.get(logicalId);
    return {
      invocations: stats?.invocations ?? 0,
      recordsPerSecond: stats?.rate.perSecond(this.#now()) ?? 0,
    };
  }

  #record(entry: Omit<ObservedInvocation, 'seq'>): void {
    this.#seq += 1;
    const invocation: ObservedInvocation = { seq: this.#seq, ...entry };
    this.#invocations.push(invocation);
    let stats = this.#functions.get(entry.function);
    if (stats === undefined) {
      stats = {
        invocations: 0,
        errors: 0,
        timeouts: 0,
        coldStarts: 0,
        durations: new RingBuffer(DURATION_SAMPLES),
      };
      this.#functions.set(entry.function, stats);
    }
    stats.invocations += 1;
    if (entry.result === 'error') stats.errors += 1;
    if (entry.result === 'timeout') stats.timeouts += 1;
    if (entry.coldStart) stats.coldStarts += 1;
    stats.durations.push(entry.durationMs);
    for (const listener of this.#listeners) {
      try {
        listener(invocation);
      } catch {
        // A console bug never disturbs the runtime.
      }
    }
  }
}

function resultOf(result: InvokeResult): {
  requestId: string | null;
  durationMs: number;
  coldStart: boolean;
  result: InvocationResult;
  error: string | null;
} {
  return {
    requestId: result.requestId ?? null,
    durationMs: roundMs(result.durationMs) ?? 0,
    coldStart: result.initDurationMs !== undefined,
    result: result.ok ? 'ok' : result.timedOut ? 'timeout' : 'error',
    error: result.ok ? null : `${result.errorType}: ${result.errorMessage}`,
  };
}

/** The route, path and answered Location of an API Gateway payload 2.0 event. */
function httpOf(
  event: unknown,
  result: InvokeResult,
): ObservedInvocation['http'] {
  if (!isRecord(event) || event.version !== '2.0') return null;
  const { routeKey, rawPath } = event;
  if (typeof routeKey !== 'string' || typeof rawPath !== 'string') return null;
  let location: string | null = null;
  if (result.ok && isRecord(result.result) && isRecord(result.result.headers)) {
    for (const [name, value] of Object.entries(result.result.headers)) {
      if (name.toLowerCase() === 'location' && typeof value === 'string') {
        location = value;
      }
    }
  }
  return { routeKey, path: rawPath, location };
}

function roundMs(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}
