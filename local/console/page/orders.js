/**
 * The Orders view: place an order, the list (newest first, by state), the
 * orphan payments, and one order's timeline of events and invocations.
 */
import { call, coalesced } from './api.js';
import {
  badge,
  byId,
  duration,
  field,
  fill,
  h,
  money,
  report,
  time,
} from './dom.js';

/** README's first order: no orderId, so each submit places a new one. */
const EXAMPLE_BODY = {
  customerId: 'cust-42',
  currency: 'EUR',
  items: [{ productId: 'sku-1', quantity: 2, unitPrice: 1999 }],
  shippingAddress: {
    street: 'Hauptstr. 1',
    city: 'Berlin',
    postalCode: '10115',
    country: 'DE',
  },
};

/**
 * @typedef {object} Order
 * @property {string} orderId
 * @property {string} status
 * @property {string | null} statusReason
 * @property {{ amount: number, currency: string }} total
 * @property {string} customerId
 * @property {string} createdAt
 * @property {string} updatedAt
 * @property {number} version
 *
 * @typedef {{ orderId: string, status: string }} Orphan
 *
 * @typedef {object} EventEntry
 * @property {'event'} kind
 * @property {string} at
 * @property {string} topic
 * @property {number} partition
 * @property {string} offset
 * @property {string | null} key
 * @property {string | null} eventType
 * @property {string | null} eventId
 * @property {string | null} correlationId
 * @property {string | null} causationId
 * @property {Record<string, string>} headers
 * @property {boolean} valid
 * @property {string} [valueText]
 *
 * @typedef {object} InvocationEntry
 * @property {'invocation'} kind
 * @property {string} at
 * @property {string} function
 * @property {string | null} mapping
 * @property {string} requestId
 * @property {number} durationMs
 * @property {boolean} coldStart
 * @property {'ok' | 'error' | 'timeout' | 'partial'} result
 * @property {string | null} error
 * @property {number} attempt
 * @property {{ topic: string, partition: number, offset: string }[]} records
 */

/** The order whose detail is open, or null. */
let openId = /** @type {string | null} */ (null);
/** @type {Orphan[]} */
let orphans = [];
/** The ids in the last list, to tell whether a change concerns the open one. */
let listed = new Set();

/**
 * Wires the form, the filter and the list.
 *
 * @param {{ open: (orderId: string | null) => void }} router sets the URL hash
 */
export function initOrders(router) {
  const body = /** @type {HTMLTextAreaElement} */ (byId('order-form-body'));
  body.value = JSON.stringify(EXAMPLE_BODY, null, 2);
  byId('order-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void placeOrder(body.value, router);
  });
  byId('orders-filter').addEventListener('change', () => {
    void refreshOrders();
  });
  for (const list of [byId('orders-list'), byId('orphans-list')]) {
    list.addEventListener('click', (event) => {
      const row = /** @type {Element} */ (event.target).closest(
        '[data-order-id]',
      );
      const id = row?.getAttribute('data-order-id');
      if (id) router.open(id);
    });
  }
}

/**
 * @param {string} text
 * @param {{ open: (orderId: string | null) => void }} router
 */
async function placeOrder(text, router) {
  const result = byId('order-form-result');
  const submit = /** @type {HTMLButtonElement} */ (
    byId('order-form').querySelector('button[type="submit"]')
  );
  submit.disabled = true;
  fill(result, 'sending...');
  result.removeAttribute('data-status');
  const answer = await call('POST', '/orders', { text });
  submit.disabled = false;
  result.setAttribute('data-status', String(answer.status));
  const orderId =
    answer.ok && answer.body && typeof answer.body.orderId === 'string'
      ? answer.body.orderId
      : null;
  if (orderId) {
    fill(
      result,
      `${answer.status} `,
      badge(answer.body.status ?? ''),
      ' order ',
      h(
        'a',
        { href: `#orders/${encodeURIComponent(orderId)}`, class: 'mono' },
        orderId,
      ),
    );
    await refreshOrders();
    router.open(orderId);
  } else {
    fill(result, answer.summary);
  }
}

/** Refetches the list (coalesced: live events may come in bursts). */
export const refreshOrders = coalesced(async () => {
  const status = /** @type {HTMLSelectElement} */ (byId('orders-filter')).value;
  const query = new URLSearchParams({ limit: '100' });
  if (status) query.set('status', status);
  const answer = await call('GET', `/_console/api/orders?${query}`);
  if (!answer.ok || !answer.body) {
    report('orders', `Orders: ${answer.summary}`);
    return;
  }
  report('orders', null);
  /** @type {Order[]} */
  const orders = answer.body.orders ?? [];
  orphans = answer.body.orphans ?? [];
  listed = new Set([
    ...orders.map((o) => o.orderId),
    ...orphans.map((o) => o.orderId),
  ]);
  renderList(orders);
});

/** @param {Order[]} orders */
function renderList(orders) {
  const list = byId('orders-list');
  fill(
    list,
    orders.length === 0
      ? h('li', { class: 'muted empty-row' }, 'No orders yet.')
      : orders.map((order) =>
          h(
            'li',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'row-button',
                testid: 'order-row',
                'data-order-id': order.orderId,
                'aria-current': order.orderId === openId ? 'true' : null,
              },
              h(
                'span',
                { class: 'line' },
                h('span', { class: 'mono id' }, order.orderId),
                badge(order.status, 'order-status'),
                h('span', { class: 'num' }, money(order.total)),
              ),
              h(
                'span',
                { class: 'line muted' },
                h('span', {}, order.customerId),
                time(order.createdAt),
              ),
            ),
          ),
        ),
  );
  fill(
    byId('orphans-list'),
    orphans.length === 0
      ? h('li', { class: 'muted empty-row' }, 'None.')
      : orphans.map((orphan) =>
          h(
            'li',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'row-button',
                testid: 'orphan-row',
                'data-order-id': orphan.orderId,
                'aria-current': orphan.orderId === openId ? 'true' : null,
              },
              h(
                'span',
                { class: 'line' },
                h('span', { class: 'mono id' }, orphan.orderId),
                badge(orphan.status, 'orphan-status'),
              ),
            ),
          ),
        ),
  );
}

/**
 * Opens (or, with null, closes) an order's detail.
 *
 * @param {string | null} orderId
 */
export function showOrder(orderId) {
  const changed = orderId !== openId;
  openId = orderId;
  for (const row of document.querySelectorAll('[data-order-id]')) {
    if (row.getAttribute('data-order-id') === orderId) {
      row.setAttribute('aria-current', 'true');
    } else row.removeAttribute('aria-current');
  }
  const detail = byId('order-detail');
  detail.hidden = orderId === null;
  byId('order-detail-empty').hidden = orderId !== null;
  if (orderId === null) return;
  if (changed) fill(detail, h('p', { class: 'muted' }, 'Loading...'));
  void refreshOpenOrder();
}

/**
 * Live: orders changed. Refetches the list, and the open order's timeline when
 * it is among them.
 *
 * @param {string[]} changed
 */
export function ordersChanged(changed) {
  void refreshOrders();
  if (openId !== null && (changed.includes(openId) || !listed.has(openId))) {
    void refreshOpenOrder();
  }
}

/**
 * Live: functions were invoked (the flow's counts moved); an invocation of the
 * open order may be among them.
 */
export function invocationsHappened() {
  if (openId !== null) void refreshOpenOrder();
}

/** Refetches everything shown (after a reconnect: events may be missed). */
export function refreshAllOrders() {
  void refreshOrders();
  if (openId !== null) void refreshOpenOrder();
}

const refreshOpenOrder = coalesced(async () => {
  const orderId = openId;
  if (orderId === null) return;
  const answer = await call(
    'GET',
    `/_console/api/orders/${encodeURIComponent(orderId)}`,
  );
  if (orderId !== openId) return;
  if (!answer.ok || !answer.body) {
    report('order', `Order ${orderId}: ${answer.summary}`);
    return;
  }
  report('order', null);
  renderDetail(orderId, answer.body.order ?? null, answer.body.timeline ?? []);
});

/**
 * @param {string} orderId
 * @param {Order | null} order
 * @param {(EventEntry | InvocationEntry)[]} timeline
 */
function renderDetail(orderId, order, timeline) {
  const detail = byId('order-detail');
  const orphan = orphans.find((o) => o.orderId === orderId);
  const state = order?.status ?? orphan?.status ?? 'NONE';
  const open = new Set(
    [...detail.querySelectorAll('details[open][data-key]')].map((d) =>
      d.getAttribute('data-key'),
    ),
  );
  const sorted = [...timeline].sort((a, b) =>
    a.at < b.at ? -1 : a.at > b.at ? 1 : 0,
  );
  fill(
    detail,
    h(
      'header',
      { class: 'row spread' },
      h('h3', {}, 'Order ', h('span', { class: 'mono' }, orderId)),
      h(
        'span',
        { class: 'row' },
        order
          ? 'state'
          : orphan
            ? 'no such order: orphan payment'
            : 'no order stored',
        badge(state, 'order-detail-status'),
      ),
    ),
    order
      ? h(
          'dl',
          { class: 'fields' },
          field('Reason', order.statusReason),
          field('Total', money(order.total)),
          field('Customer', order.customerId),
          field('Version', String(order.version)),
          field('Created', time(order.createdAt)),
          field('Updated', time(order.updatedAt)),
        )
      : null,
    h('h4', {}, `Timeline (${sorted.length})`),
    h(
      'ol',
      { class: 'timeline', testid: 'timeline' },
      sorted.length === 0
        ? h('li', { class: 'muted' }, 'Nothing seen for this order yet.')
        : sorted.map((entry) =>
            entry.kind === 'event'
              ? eventEntry(entry, open)
              : invocationEntry(entry, open),
          ),
    ),
  );
}

/**
 * @param {EventEntry} entry
 * @param {Set<string | null>} open keys of the `<details>` the user opened
 */
function eventEntry(entry, open) {
  const key = `e:${entry.topic}:${entry.partition}:${entry.offset}`;
  const headers = Object.entries(entry.headers ?? {});
  const dead = entry.eventType === 'DeadLetter';
  return h(
    'li',
    {
      class: `entry event${entry.valid ? '' : ' invalid'}${dead ? ' dead' : ''}`,
      testid: 'timeline-entry',
      'data-kind': 'event',
    },
    h(
      'div',
      { class: 'entry-head' },
      time(entry.at),
      h('span', { class: 'kind' }, 'event'),
      h('strong', {}, entry.eventType ?? '(no event type)'),
      entry.valid
        ? null
        : h('span', { class: 'badge bad' }, 'not a valid event'),
      h(
        'span',
        { class: 'mono muted' },
        `${entry.topic} [${entry.partition}] @${entry.offset}`,
      ),
    ),
    h(
      'dl',
      { class: 'fields compact' },
      field('correlation', mono(entry.correlationId)),
      field('causation', mono(entry.causationId)),
      field('event id', mono(entry.eventId)),
      field('key', mono(entry.key)),
    ),
    entry.valid
      ? null
      : h('pre', { class: 'value' }, entry.valueText ?? '(no value)'),
    headers.length === 0
      ? null
      : h(
          'details',
          { 'data-key': key, open: open.has(key) },
          h('summary', {}, `headers (${headers.length})`),
          h(
            'dl',
            { class: 'fields compact' },
            headers.map(([name, value]) => field(name, mono(value))),
          ),
        ),
  );
}

/**
 * @param {InvocationEntry} entry
 * @param {Set<string | null>} open keys of the `<details>` the user opened
 */
function invocationEntry(entry, open) {
  const key = `i:${entry.requestId}`;
  const records = entry.records ?? [];
  return h(
    'li',
    {
      class: 'entry invocation',
      testid: 'timeline-entry',
      'data-kind': 'invocation',
      'data-result': entry.result,
    },
    h(
      'div',
      { class: 'entry-head' },
      time(entry.at),
      h('span', { class: 'kind' }, 'invocation'),
      h('strong', {}, entry.function),
      h('span', { class: 'badge', 'data-state': entry.result }, entry.result),
      h('span', {}, duration(entry.durationMs)),
      entry.attempt > 1
        ? h(
            'span',
            { class: 'badge warn' },
            `attempt ${entry.attempt} (retry ${entry.attempt - 1})`,
          )
        : null,
      entry.coldStart ? h('span', { class: 'badge cold' }, 'cold start') : null,
      h('span', { class: 'muted' }, entry.mapping ?? 'HTTP'),
    ),
    entry.error ? h('pre', { class: 'error' }, entry.error) : null,
    records.length === 0
      ? null
      : h(
          'details',
          { 'data-key': key, open: open.has(key) },
          h(
            'summary',
            {},
            `${records.length} record${records.length === 1 ? '' : 's'} · request ${entry.requestId}`,
          ),
          h(
            'ul',
            { class: 'mono plain' },
            records.map((r) =>
              h('li', {}, `${r.topic} [${r.partition}] @${r.offset}`),
            ),
          ),
        ),
  );
}

/** @param {string | null | undefined} text */
function mono(text) {
  return text ? h('span', { class: 'mono' }, text) : null;
}
