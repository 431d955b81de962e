/**
 * One order's timeline for the console (docs/console.md): its Kafka records on every
 * topic, and the invocations that handled them (Kafka invocations whose records
 * include one of the order's, HTTP invocations whose path or answered Location names
 * the order), sorted by time.
 */
import type { ObservedInvocation } from './observer.ts';
import type { IndexedEvent } from './order-index.ts';

/** An invocation on an order's timeline. */
export interface InvocationEntry {
  readonly kind: 'invocation';
  /** When it started, ISO-8601. */
  readonly at: string;
  readonly function: string;
  /** `topic -> function`, or null for an HTTP (or other) invocation. */
  readonly mapping: string | null;
  readonly requestId: string | null;
  readonly durationMs: number;
  readonly coldStart: boolean;
  readonly result: ObservedInvocation['result'];
  readonly error: string | null;
  readonly attempt: number;
  readonly records: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly offset: string;
  }[];
  /** For HTTP invocations: the route key and the path. */
  readonly route?: string;
  readonly path?: string;
}

export type TimelineEntry = IndexedEvent | InvocationEntry;

/** Records listed per invocation at most (a batch is at most 10 000). */
const MAX_LISTED_RECORDS = 1_000;

/**
 * The order's timeline: its events and the invocations that touched them, by time
 * (events first when equal).
 *
 * @example
 * ```ts
 * const entries = timelineOf('o-1', index.eventsOf('o-1'), observer.invocations());
 * ```
 */
export function timelineOf(
  orderId: string,
  events: readonly IndexedEvent[],
  invocations: readonly ObservedInvocation[],
): TimelineEntry[] {
  const byTopic = new Map<string, { partition: number; offset: number }[]>();
  for (const event of events) {
    const list = byTopic.get(event.topic) ?? [];
    list.push({ partition: event.partition, offset: Number(event.offset) });
    byTopic.set(event.topic, list);
  }
  const entries: TimelineEntry[] = [...events];
  for (const invocation of invocations) {
    if (handled(orderId, invocation, byTopic)) {
      entries.push(invocationEntry(invocation));
    }
  }
  const rank = (entry: TimelineEntry) => (entry.kind === 'event' ? 0 : 1);
  return entries
    .map((entry, i) => ({ entry, i }))
    .sort(
      (a, b) =>
        a.entry.at.localeCompare(b.entry.at) ||
        rank(a.entry) - rank(b.entry) ||
        a.i - b.i,
    )
    .map(({ entry }) => entry);
}

/**
 * The order ids an HTTP path names: the segment after `orders` (`/orders/{orderId}`,
 * `/orders/{orderId}/cancel`).
 *
 * @example
 * ```ts
 * orderIdOfPath('/orders/o-1/cancel'); // 'o-1'
 * ```
 */
export function orderIdOfPath(path: string | null): string | undefined {
  if (path === null) return undefined;
  const segments = path.split('?')[0]?.split('/') ?? [];
  const at = segments.indexOf('orders');
  const id = at >= 0 ? segments[at + 1] : undefined;
  return id ? id : undefined;
}

function handled(
  orderId: string,
  invocation: ObservedInvocation,
  byTopic: ReadonlyMap<
    string,
    readonly { partition: number; offset: number }[]
  >,
): boolean {
  if (invocation.http) {
    return (
      orderIdOfPath(invocation.http.path) === orderId ||
      orderIdOfPath(invocation.http.location) === orderId
    );
  }
  const records = invocation.topic ? byTopic.get(invocation.topic) : undefined;
  if (!records) return false;
  return invocation.records.some((run) =>
    records.some(
      (r) =>
        r.partition === run.partition &&
        r.offset >= run.from &&
        r.offset <= run.to,
    ),
  );
}

function invocationEntry(invocation: ObservedInvocation): InvocationEntry {
  const records: InvocationEntry['records'][number][] = [];
  for (const run of invocation.records) {
    for (let offset = run.from; offset <= run.to; offset += 1) {
      if (records.length >= MAX_LISTED_RECORDS) break;
      records.push({
        topic: invocation.topic ?? '',
        partition: run.partition,
        offset: String(offset),
      });
    }
  }
  return {
    kind: 'invocation',
    at: new Date(invocation.startedAt).toISOString(),
    function: invocation.function,
    mapping: invocation.mapping,
    requestId: invocation.requestId,
    durationMs: invocation.durationMs,
    coldStart: invocation.coldStart,
    result: invocation.result,
    error: invocation.error,
    attempt: invocation.attempt,
    records,
    ...(invocation.http
      ? { route: invocation.http.routeKey, path: invocation.http.path }
      : {}),
  };
}
