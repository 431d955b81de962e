/**
 * The console's server-sent events (`api/stream`): they tell the page when to
 * refetch orders and dead letters, and push the flow. Live state (the observer
 * subscription, the flow polls, the pings) runs only while a stream is open.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FlowMonitor } from './flow.ts';
import { Throttle } from './flow.ts';
import type { ObservedInvocation, RuntimeObserver } from './observer.ts';
import type { OrderIndex } from './order-index.ts';
import { orderIdOfPath } from './timeline.ts';

/** `orders` events at most this often. */
const ORDERS_EVERY_MS = 500;
/** `deadletters` events at most this often. */
const DEAD_LETTERS_EVERY_MS = 500;
/** A `flow` event when something changed, at most this often... */
const FLOW_CHECK_MS = 1_000;
/** ...and this often anyway, for the lag chart. */
const FLOW_ANYWAY_MS = 5_000;
/** A comment line keeps idle streams open through proxies. */
const PING_MS = 15_000;
/** Order ids in one `orders` event at most (a catch-up touches thousands). */
const MAX_CHANGED = 200;
/** A stream whose client reads nothing is dropped past this many unsent bytes. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Stream {
  readonly response: ServerResponse;
}

/** What the live updates watch. */
export interface LiveUpdatesOptions {
  readonly flow: FlowMonitor;
  readonly observer: RuntimeObserver;
  readonly index: OrderIndex;
  /** The model's `.dead-letter` topics. */
  readonly deadLetterTopics: ReadonlySet<string>;
}

/**
 * The open event streams of the console, and what they are told.
 *
 * @example
 * ```ts
 * const live = new LiveUpdates({ flow, observer, index, deadLetterTopics });
 * await live.openStream(request, response);
 * live.stop();
 * ```
 */
export class LiveUpdates {
  readonly #options: LiveUpdatesOptions;
  readonly #streams = new Set<Stream>();
  readonly #ordersChanged = new Throttle(ORDERS_EVERY_MS, (ids) =>
    this.#broadcast(
      'orders',
      JSON.stringify({ changed: ids.slice(0, MAX_CHANGED) }),
    ),
  );
  readonly #deadLettersChanged = new Throttle(DEAD_LETTERS_EVERY_MS, () =>
    this.#broadcast('deadletters', '{}'),
  );
  // Live state, only while at least one stream is open.
  #unsubscribe: (() => void) | undefined;
  #flowTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #lastFlow = '';
  #lastFlowAt = 0;

  constructor(options: LiveUpdatesOptions) {
    this.#options = options;
  }

  /**
   * A record the index took: the page refetches its order, and the dead letters
   * when it came from a dead-letter topic. Nothing while no stream is open.
   */
  recordIndexed(orderId: string, topic: string): void {
    if (this.#streams.size === 0) return;
    this.#ordersChanged.add(orderId);
    if (this.#options.deadLetterTopics.has(topic)) {
      this.#deadLettersChanged.add('*');
    }
  }

  /** Answers `api/stream`: an event stream, open until either side closes it. */
  async openStream(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write('retry: 2000\n\n');
    const stream: Stream = { response };
    this.#streams.add(stream);
    if (this.#streams.size === 1) this.#goLive();
    const close = () => {
      if (!this.#streams.delete(stream)) return;
      if (this.#streams.size === 0) this.#goQuiet();
    };
    request.on('close', close);
    response.on('close', close);
    // The newcomer gets the flow at once (everyone does: a spare event is harmless).
    await this.#options.flow.snapshot();
    if (this.#streams.has(stream)) this.#sendFlow(true);
  }

  /** Ends every stream and the live state. */
  stop(): void {
    this.#goQuiet();
    this.#ordersChanged.stop();
    this.#deadLettersChanged.stop();
    for (const stream of this.#streams) stream.response.end();
    this.#streams.clear();
  }

  #broadcast(event: string | undefined, data: string): void {
    const frame =
      event === undefined
        ? `${data}\n\n`
        : `event: ${event}\ndata: ${data}\n\n`;
    for (const stream of this.#streams) {
      if (stream.response.writableLength > MAX_BUFFERED_BYTES) {
        stream.response.destroy();
        continue;
      }
      stream.response.write(frame);
    }
  }

  #sendFlow(force: boolean): void {
    const snapshot = this.#options.flow.current();
    const { at: _at, ...content } = snapshot;
    const key = JSON.stringify(content);
    if (
      !force &&
      key === this.#lastFlow &&
      Date.now() - this.#lastFlowAt < FLOW_ANYWAY_MS
    ) {
      return;
    }
    this.#lastFlow = key;
    this.#lastFlowAt = Date.now();
    this.#broadcast('flow', JSON.stringify(snapshot));
  }

  #onInvocation = (invocation: ObservedInvocation): void => {
    const { index, deadLetterTopics } = this.#options;
    for (const id of ordersOf(invocation, index)) this.#ordersChanged.add(id);
    if (mayChangeDeadLetters(invocation, deadLetterTopics)) {
      this.#deadLettersChanged.add('*');
    }
  };

  #goLive(): void {
    this.#unsubscribe = this.#options.observer.subscribe(this.#onInvocation);
    this.#options.flow.poll();
    this.#flowTimer = setInterval(() => this.#sendFlow(false), FLOW_CHECK_MS);
    this.#pingTimer = setInterval(
      () => this.#broadcast(undefined, ': ping'),
      PING_MS,
    );
  }

  #goQuiet(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#options.flow.pause();
    clearInterval(this.#flowTimer);
    clearInterval(this.#pingTimer);
    this.#flowTimer = undefined;
    this.#pingTimer = undefined;
  }
}

/**
 * The dead-letter store changes when the reprocessor has stored what a dead-letter
 * topic brought (its mapping batches for a second after the record arrived, so the
 * record's own arrival is too early to refetch), when an admin action ran, and when
 * a schedule redrove letters.
 */
function mayChangeDeadLetters(
  invocation: ObservedInvocation,
  deadLetterTopics: ReadonlySet<string>,
): boolean {
  if (invocation.topic !== null) return deadLetterTopics.has(invocation.topic);
  if (invocation.http) {
    return (
      invocation.http.routeKey.startsWith('POST ') &&
      invocation.http.path.startsWith('/dead-letters')
    );
  }
  return true;
}

/** The orders an invocation touched: by its path, or by the records it read. */
function ordersOf(
  invocation: ObservedInvocation,
  index: OrderIndex,
): Set<string> {
  const ids = new Set<string>();
  if (invocation.http) {
    const id =
      orderIdOfPath(invocation.http.path) ??
      orderIdOfPath(invocation.http.location);
    if (id) ids.add(id);
    return ids;
  }
  if (invocation.topic === null) return ids;
  let looked = 0;
  for (const run of invocation.records) {
    for (
      let offset = run.from;
      offset <= run.to && looked < 1000;
      offset += 1
    ) {
      looked += 1;
      const id = index.orderAt(invocation.topic, run.partition, offset);
      if (id) ids.add(id);
    }
  }
  return ids;
}
