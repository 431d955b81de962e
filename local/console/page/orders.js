/**
 * The Orders view: place an order, the list (newest first, by state), the
 * orphan payments, and one order's timeline of events and invocations.
 */
import { call, coalesced } from './api.js';
import { badge, byId, fill, h, money, report, time } from './dom.js';
import { renderOrderDetail } from './order-detail.js';

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
 * @typedef {import('./order-detail.js').Order} Order
 * @typedef {{ orderId: string, status: string }} Orphan
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
  renderOrderDetail(
    orderId,
    answer.body.order ?? null,
    orphans.find((o) => o.orderId === orderId),
    answer.body.timeline ?? [],
  );
});
