/**
 * The local console's server side (docs/console.md): mounted by the local HTTP API
 * under `/_console` (answered only when no template route matches, like `/_docs`),
 * it serves the page's files from local/console/page/ and a small JSON API:
 * `api/orders`, `api/orders/{orderId}`, `api/flow`, and `api/stream`, server-sent
 * events that tell the page when to refetch. Local only: nothing here is part of
 * a Lambda bundle, and no function imports it.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import * as z from 'zod';
import { messageOf } from '#commons/guards.ts';
import { OrderId } from '#domain/events.ts';
import { escapeHtml } from '../runtime/api-reference.ts';
import type { LocalMount } from '../runtime/http-api.ts';
import type { SystemModel } from '../runtime/template.ts';
import { FlowMonitor, type MappingHandle, Throttle } from './flow.ts';
import type { ObservedInvocation, RuntimeObserver } from './observer.ts';
import {
  type IndexConsumer,
  indexRecord,
  OrderIndex,
  startIndexConsumer,
} from './order-index.ts';
import {
  ORDER_STATUSES,
  type OrdersTable,
  ordersTable,
} from './orders-table.ts';
import { orderIdOfPath, timelineOf } from './timeline.ts';

/** The path the console is served under. */
export const CONSOLE_PREFIX = '/_console';

/** Where helper files of the page live: one flat folder. */
const PAGE_DIR = join(import.meta.dirname, 'page');

/** The literal in index.html the admin token replaces. */
const TOKEN_PLACEHOLDER = '%ADMIN_TOKEN%';

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

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** The query of `GET /_console/api/orders`. */
const OrdersQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Options of {@link createConsole}. */
export interface ConsoleOptions {
  readonly model: SystemModel;
  readonly brokers: readonly string[];
  readonly dynamodbEndpoint: string;
  /** Put into index.html, for the page's calls to the admin routes. */
  readonly adminToken: string;
  readonly observer: RuntimeObserver;
  /** The running Kafka mappings (read each time). */
  readonly mappings: () => readonly MappingHandle[];
  readonly log: (line: string) => void;
  /** The page's folder. Default: local/console/page. */
  readonly pageDir?: string;
  /** The orders table, when not the model's (tests). */
  readonly ordersTable?: OrdersTable;
}

/** The console, ready to mount. */
export interface LocalConsole {
  readonly mount: LocalMount;
  /** Ends the streams, the index consumer and the offset reads. */
  stop(): Promise<void>;
}

interface Stream {
  readonly response: ServerResponse;
}

/**
 * The console of a local system.
 *
 * @example
 * ```ts
 * const app = createConsole({ model, brokers, dynamodbEndpoint, adminToken, observer, mappings: () => running, log });
 * await startHttpApi({ ...options, mounts: [app.mount] });
 * await app.stop();
 * ```
 */
export function createConsole(options: ConsoleOptions): LocalConsole {
  const { model, observer, log } = options;
  const pageDir = options.pageDir ?? PAGE_DIR;
  const names = new Map(model.functions.map((fn) => [fn.logicalId, fn.name]));
  const functionName = (logicalId: string) => names.get(logicalId) ?? logicalId;
  const tableName = model.functions
    .map((fn) => fn.environment.ORDERS_TABLE)
    .find((name) => name !== undefined);
  const table =
    options.ordersTable ??
    (tableName === undefined
      ? undefined
      : ordersTable(options.dynamodbEndpoint, tableName));
  const flow = new FlowMonitor({
    brokers: options.brokers,
    mappings: options.mappings,
    functionName,
    functionNames: model.functions.map((fn) => fn.name),
    observer,
    log,
  });
  const index = new OrderIndex();
  const deadLetterTopics = new Set(
    model.topics
      .map((t) => t.name)
      .filter((name) => name.endsWith('.dead-letter')),
  );
  const streams = new Set<Stream>();
  let consumer: IndexConsumer | undefined;
  let stopped = false;

  const broadcast = (event: string | undefined, data: string) => {
    const frame =
      event === undefined
        ? `${data}\n\n`
        : `event: ${event}\ndata: ${data}\n\n`;
    for (const stream of streams) {
      if (stream.response.writableLength > MAX_BUFFERED_BYTES) {
        stream.response.destroy();
        continue;
      }
      stream.response.write(frame);
    }
  };
  const ordersChanged = new Throttle(ORDERS_EVERY_MS, (ids) =>
    broadcast('orders', JSON.stringify({ changed: ids.slice(0, MAX_CHANGED) })),
  );
  const deadLettersChanged = new Throttle(DEAD_LETTERS_EVERY_MS, () =>
    broadcast('deadletters', '{}'),
  );

  // Live state, only while at least one stream is open.
  let unsubscribe: (() => void) | undefined;
  let flowTimer: NodeJS.Timeout | undefined;
  let pingTimer: NodeJS.Timeout | undefined;
  let lastFlow = '';
  let lastFlowAt = 0;
  const sendFlow = (force: boolean) => {
    const snapshot = flow.current();
    const { at: _at, ...content } = snapshot;
    const key = JSON.stringify(content);
    if (
      !force &&
      key === lastFlow &&
      Date.now() - lastFlowAt < FLOW_ANYWAY_MS
    ) {
      return;
    }
    lastFlow = key;
    lastFlowAt = Date.now();
    broadcast('flow', JSON.stringify(snapshot));
  };
  const onInvocation = (invocation: ObservedInvocation) => {
    for (const id of ordersOf(invocation)) ordersChanged.add(id);
    if (mayChangeDeadLetters(invocation)) deadLettersChanged.add('*');
  };
  /**
   * The dead-letter store changes when the reprocessor has stored what a dead-letter
   * topic brought (its mapping batches for a second after the record arrived, so the
   * record's own arrival is too early to refetch), when an admin action ran, and when
   * a schedule redrove letters.
   */
  const mayChangeDeadLetters = (invocation: ObservedInvocation): boolean => {
    if (invocation.topic !== null)
      return deadLetterTopics.has(invocation.topic);
    if (invocation.http) {
      return (
        invocation.http.routeKey.startsWith('POST ') &&
        invocation.http.path.startsWith('/dead-letters')
      );
    }
    return true;
  };
  const ordersOf = (invocation: ObservedInvocation): Set<string> => {
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
  };
  const goLive = () => {
    unsubscribe = observer.subscribe(onInvocation);
    flow.poll();
    flowTimer = setInterval(() => sendFlow(false), FLOW_CHECK_MS);
    pingTimer = setInterval(() => broadcast(undefined, ': ping'), PING_MS);
  };
  const goQuiet = () => {
    unsubscribe?.();
    unsubscribe = undefined;
    flow.pause();
    clearInterval(flowTimer);
    clearInterval(pingTimer);
    flowTimer = undefined;
    pingTimer = undefined;
  };

  /** The index starts with the console's first request. */
  const startIndex = () => {
    if (consumer || stopped) return;
    consumer = startIndexConsumer({
      brokers: options.brokers,
      topics: model.topics.map((t) => t.name),
      log,
      onRecord: (record) => {
        const indexed = indexRecord(record);
        if (!indexed || !index.add(indexed.orderId, indexed.event)) return;
        if (streams.size === 0) return;
        ordersChanged.add(indexed.orderId);
        if (deadLetterTopics.has(record.topic)) deadLettersChanged.add('*');
      },
    });
  };

  const openStream = async (
    request: IncomingMessage,
    response: ServerResponse,
  ) => {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write('retry: 2000\n\n');
    const stream: Stream = { response };
    streams.add(stream);
    if (streams.size === 1) goLive();
    const close = () => {
      if (!streams.delete(stream)) return;
      if (streams.size === 0) goQuiet();
    };
    request.on('close', close);
    response.on('close', close);
    // The newcomer gets the flow at once (everyone does: a spare event is harmless).
    await flow.snapshot();
    if (streams.has(stream)) sendFlow(true);
  };

  const api = async (
    name: string,
    request: IncomingMessage,
    response: ServerResponse,
    rawQueryString: string,
  ): Promise<void> => {
    if (name === 'stream') return openStream(request, response);
    if (name === 'flow') return json(response, 200, await flow.snapshot());
    if (name === 'orders') {
      const query = OrdersQuery.safeParse(
        Object.fromEntries(new URLSearchParams(rawQueryString)),
      );
      if (!query.success) {
        return json(response, 400, {
          message: 'Bad Request',
          detail: z.prettifyError(query.error),
        });
      }
      if (!table) return noTable(response);
      const listed = await fromStore(response, () =>
        table.list({
          limit: query.data.limit,
          ...(query.data.status ? { status: query.data.status } : {}),
        }),
      );
      if (listed) json(response, 200, listed);
      return;
    }
    if (name.startsWith('orders/')) {
      const orderId = decode(name.slice('orders/'.length));
      if (orderId === undefined || !OrderId.safeParse(orderId).success) {
        return json(response, 400, {
          message: 'Bad Request',
          detail: 'an order id is 1-64 characters of [A-Za-z0-9_-]',
        });
      }
      if (!table) return noTable(response);
      const stored = await fromStore(response, () => table.get(orderId));
      if (!stored) return;
      json(response, 200, {
        ...stored,
        timeline: timelineOf(
          orderId,
          index.eventsOf(orderId),
          observer.invocations(),
        ),
      });
      return;
    }
    json(response, 404, { message: 'Not Found' });
  };

  const fromStore = async <T>(
    response: ServerResponse,
    call: () => Promise<T>,
  ): Promise<T | undefined> => {
    try {
      return await call();
    } catch (error) {
      json(response, 503, {
        message: 'Service Unavailable',
        local: `DynamoDB at ${options.dynamodbEndpoint} did not answer (${messageOf(error)}); check it with 'npm run platform -- status'`,
      });
      return undefined;
    }
  };
  const noTable = (response: ServerResponse) =>
    json(response, 404, {
      message: 'Not Found',
      local: 'no function of the template names an ORDERS_TABLE',
    });

  const page = async (response: ServerResponse, file: string) => {
    const files = await readdir(pageDir, { withFileTypes: true }).catch(
      () => [],
    );
    // Only a file that is in the folder under exactly that name: no path, no
    // traversal, nothing else on the disk.
    if (!files.some((entry) => entry.isFile() && entry.name === file)) {
      return json(response, 404, {
        message: 'Not Found',
        ...(file === 'index.html'
          ? { local: 'local/console/page/index.html is missing' }
          : {}),
      });
    }
    let body = await readFile(join(pageDir, file));
    if (file === 'index.html') {
      body = Buffer.from(
        body
          .toString('utf8')
          .replaceAll(TOKEN_PLACEHOLDER, escapeHtml(options.adminToken)),
        'utf8',
      );
    }
    response.writeHead(200, {
      'content-type':
        CONTENT_TYPES[extname(file).toLowerCase()] ??
        'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    response.end(body);
  };

  const mount: LocalMount = {
    prefix: CONSOLE_PREFIX,
    async handle(request, response, { path, rawQueryString }) {
      if (stopped) {
        return json(response, 503, {
          message: 'Service Unavailable',
          local: 'the local system is stopping',
        });
      }
      // The page carries the admin token: only a browser that asked for this
      // machine by name gets it (a page from elsewhere that rebinds its DNS name
      // to 127.0.0.1 sends its own name as Host).
      if (!isLocalHost(request.headers.host)) {
        return json(response, 403, {
          message: 'Forbidden',
          local: 'the console answers requests for 127.0.0.1 or localhost only',
        });
      }
      if (request.method !== 'GET') {
        response.setHeader('allow', 'GET');
        return json(response, 405, { message: 'Method Not Allowed' });
      }
      startIndex();
      const rest = path.slice(CONSOLE_PREFIX.length).replace(/^\//, '');
      if (rest === '') return page(response, 'index.html');
      if (rest.startsWith('api/')) {
        return api(
          rest.slice('api/'.length),
          request,
          response,
          rawQueryString,
        );
      }
      const file = decode(rest);
      if (file === undefined || file.includes('/') || file.includes('\\')) {
        return json(response, 404, { message: 'Not Found' });
      }
      return page(response, file);
    },
  };

  return {
    mount,
    async stop() {
      if (stopped) return;
      stopped = true;
      goQuiet();
      ordersChanged.stop();
      deadLettersChanged.stop();
      for (const stream of streams) stream.response.end();
      streams.clear();
      await Promise.all([consumer?.stop(), flow.stop(), table?.close()]);
    },
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': text.length,
    'cache-control': 'no-store',
  });
  response.end(text);
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Whether a Host header names this machine: 127.0.0.1, localhost or [::1], with
 * any port.
 *
 * @example
 * ```ts
 * isLocalHost('127.0.0.1:3000'); // true
 * isLocalHost('evil.example:3000'); // false
 * ```
 */
export function isLocalHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}
