/**
 * The local console page: the views (by the URL's hash, so a link or a reload
 * opens the same order or dead letter), the first fetches, and the live
 * updates from the console's server-sent events (docs/console-page.md).
 */
import { call } from './api.js';
import {
  initDeadLetters,
  offerTopics,
  refreshAllDeadLetters,
  showDeadLetter,
} from './deadletters.js';
import { byId, report } from './dom.js';
import { showFlow, sourceTopics } from './flow.js';
import {
  initOrders,
  invocationsHappened,
  ordersChanged,
  refreshAllOrders,
  showOrder,
} from './orders.js';

const VIEWS = /** @type {const} */ (['orders', 'flow', 'deadletters']);
/** @typedef {typeof VIEWS[number]} View */

/**
 * The hash: `#orders`, `#orders/<orderId>`, `#flow`, `#deadletters`,
 * `#deadletters/<id>`.
 *
 * @returns {{ view: View, item: string | null }}
 */
function parseHash() {
  const [name = '', ...rest] = location.hash.slice(1).split('/');
  const view = /** @type {View} */ (
    VIEWS.includes(/** @type {View} */ (name)) ? name : 'orders'
  );
  let item = null;
  if (rest.length > 0) {
    try {
      item = decodeURIComponent(rest.join('/')) || null;
    } catch {
      item = null;
    }
  }
  return { view, item };
}

/** The item open in each view, so switching views keeps it. */
const openItems = { orders: '', deadletters: '' };

/**
 * Shows a view (and its open item) at once, and records it in the hash.
 *
 * @param {View} view
 * @param {string | null} item
 */
function go(view, item) {
  const hash = `#${view}${item ? `/${encodeURIComponent(item)}` : ''}`;
  if (location.hash !== hash) history.pushState(null, '', hash);
  apply();
}

function apply() {
  const { view, item } = parseHash();
  for (const name of VIEWS) {
    byId(`view-${name}`).hidden = name !== view;
    const button = /** @type {HTMLElement} */ (
      document.querySelector(`nav [data-view="${name}"]`)
    );
    if (name === view) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  if (view === 'orders') {
    openItems.orders = item ?? '';
    showOrder(item);
  } else if (view === 'deadletters') {
    openItems.deadletters = item ?? '';
    showDeadLetter(item);
  }
}

const refreshFlow = async () => {
  const answer = await call('GET', '/_console/api/flow');
  if (!answer.ok || !answer.body) {
    report('flow', `Flow: ${answer.summary}`);
    return;
  }
  report('flow', null);
  takeFlow(answer.body);
};

/** Total invocations of the last flow: when it moves, timelines may grow. */
let invocations = -1;

/** @param {import('./flow.js').Flow} flow */
function takeFlow(flow) {
  showFlow(flow);
  offerTopics(sourceTopics());
  const total = flow.functions.reduce((sum, f) => sum + f.invocations, 0);
  if (invocations !== -1 && total !== invocations) invocationsHappened();
  invocations = total;
}

function refreshAll() {
  void refreshFlow();
  refreshAllOrders();
  refreshAllDeadLetters();
}

/**
 * The live stream. EventSource reconnects by itself after a dropped
 * connection; when the server refused the stream (it then stays CLOSED) the
 * page opens a new one, waiting longer each time, up to 10 s. Every (re)open
 * refetches what is shown: events sent while disconnected are lost.
 */
function connect() {
  const indicator = byId('live-indicator');
  /** @param {'live' | 'reconnecting'} state */
  const show = (state) => {
    indicator.setAttribute('data-state', state);
    indicator.textContent = state;
  };
  let delay = 1000;
  /** @type {EventSource | null} */
  let source = null;
  const open = () => {
    source = new EventSource('/_console/api/stream');
    source.addEventListener('open', () => {
      delay = 1000;
      show('live');
      refreshAll();
    });
    source.addEventListener('error', () => {
      show('reconnecting');
      if (source?.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10_000);
      }
    });
    source.addEventListener('flow', (event) => {
      const flow = parse(event);
      if (flow) takeFlow(flow);
    });
    source.addEventListener('orders', (event) => {
      const body = parse(event);
      ordersChanged(Array.isArray(body?.changed) ? body.changed : []);
    });
    source.addEventListener('deadletters', () => refreshAllDeadLetters());
  };
  open();
  // The server frees the stream when the connection closes; say so at once.
  addEventListener('pagehide', () => source?.close());
}

/**
 * @param {Event} event
 * @returns {any} any: the JSON of an SSE event, checked by its reader
 */
function parse(event) {
  try {
    return JSON.parse(/** @type {MessageEvent} */ (event).data);
  } catch {
    return null;
  }
}

for (const button of document.querySelectorAll('nav [data-view]')) {
  button.addEventListener('click', () => {
    const view = /** @type {View} */ (button.getAttribute('data-view'));
    go(view, view === 'flow' ? null : openItems[view] ? openItems[view] : null);
  });
}
initOrders({ open: (orderId) => go('orders', orderId) });
initDeadLetters({ open: (id) => go('deadletters', id) });
addEventListener('hashchange', apply);
apply();
connect();
refreshAll();
