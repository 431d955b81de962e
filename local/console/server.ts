/**
 * The local console's server side (docs/console.md): mounted by the local HTTP API
 * under `/_console` (answered only when no template route matches, like `/_docs`),
 * it serves the page's files from local/console/page/ and a small JSON API:
 * `api/orders`, `api/orders/{orderId}`, `api/flow`, and `api/stream`, server-sent
 * events that tell the page when to refetch. Local only: nothing here is part of
 * a Lambda bundle, and no function imports it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalMount } from '../runtime/http/local-apps.ts';
import type { SystemModel } from '../runtime/template.ts';
import { consoleApi } from './console-api.ts';
import { FlowMonitor, type MappingHandle } from './flow.ts';
import { decode, isLocalHost, json } from './http-answers.ts';
import { type IndexConsumer, startIndexConsumer } from './index-consumer.ts';
import { LiveUpdates } from './live-updates.ts';
import type { RuntimeObserver } from './observer.ts';
import { indexRecord, OrderIndex } from './order-index.ts';
import { type OrdersTable, ordersTable } from './orders-table.ts';
import { PAGE_DIR, servePageFile } from './page-files.ts';

/** The path the console is served under. */
export const CONSOLE_PREFIX = '/_console';

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
  const table = options.ordersTable ?? modelOrdersTable(options);
  const flow = flowMonitor(options);
  const index = new OrderIndex();
  const deadLetterTopics = new Set(
    model.topics
      .map((t) => t.name)
      .filter((name) => name.endsWith('.dead-letter')),
  );
  const live = new LiveUpdates({ flow, observer, index, deadLetterTopics });
  const api = consoleApi({
    table,
    flow,
    index,
    observer,
    live,
    dynamodbEndpoint: options.dynamodbEndpoint,
  });
  let consumer: IndexConsumer | undefined;
  let stopped = false;

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
        live.recordIndexed(indexed.orderId, record.topic);
      },
    });
  };
  const page = (response: ServerResponse, file: string) =>
    servePageFile(response, { pageDir, adminToken: options.adminToken }, file);

  const mount: LocalMount = {
    prefix: CONSOLE_PREFIX,
    async handle(request, response, { path, rawQueryString }) {
      const refused = refusal(request, stopped);
      if (refused) return refused(response);
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
      live.stop();
      await Promise.all([consumer?.stop(), flow.stop(), table?.close()]);
    },
  };
}

/** The flow of the model's mappings, with the functions by name. */
function flowMonitor(options: ConsoleOptions): FlowMonitor {
  const { model } = options;
  const names = new Map(model.functions.map((fn) => [fn.logicalId, fn.name]));
  const functionName = (logicalId: string) => names.get(logicalId) ?? logicalId;
  return new FlowMonitor({
    brokers: options.brokers,
    mappings: options.mappings,
    functionName,
    functionNames: model.functions.map((fn) => fn.name),
    observer: options.observer,
    log: options.log,
  });
}

/** The orders table a function of the model names, if any. */
function modelOrdersTable(options: ConsoleOptions): OrdersTable | undefined {
  const tableName = options.model.functions
    .map((fn) => fn.environment.ORDERS_TABLE)
    .find((name) => name !== undefined);
  return tableName === undefined
    ? undefined
    : ordersTable(options.dynamodbEndpoint, tableName);
}

/**
 * The answer to a request the console refuses before routing it (stopping, not
 * for this machine, not a GET), or `undefined`.
 */
function refusal(
  request: IncomingMessage,
  stopped: boolean,
): ((response: ServerResponse) => void) | undefined {
  if (stopped) {
    return (response) =>
      json(response, 503, {
        message: 'Service Unavailable',
        local: 'the local system is stopping',
      });
  }
  // The page carries the admin token: only a browser that asked for this
  // machine by name gets it (a page from elsewhere that rebinds its DNS name
  // to 127.0.0.1 sends its own name as Host).
  if (!isLocalHost(request.headers.host)) {
    return (response) =>
      json(response, 403, {
        message: 'Forbidden',
        local: 'the console answers requests for 127.0.0.1 or localhost only',
      });
  }
  if (request.method !== 'GET') {
    return (response) => {
      response.setHeader('allow', 'GET');
      json(response, 405, { message: 'Method Not Allowed' });
    };
  }
  return undefined;
}
