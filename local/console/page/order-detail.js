/**
 * One order's detail in the Orders view: its state and fields, and its timeline
 * of events (the records of its topics) and invocations (the functions that read
 * them or answered its HTTP calls).
 */
import { badge, byId, duration, field, fill, h, money, time } from './dom.js';

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

/**
 * Shows one order in `#order-detail`: its state, its fields, and its timeline
 * sorted by time; the `<details>` the user opened stay open.
 *
 * @param {string} orderId
 * @param {Order | null} order
 * @param {{ orderId: string, status: string } | undefined} orphan its orphan payment, if any
 * @param {(EventEntry | InvocationEntry)[]} timeline
 */
export function renderOrderDetail(orderId, order, orphan, timeline) {
  const detail = byId('order-detail');
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
