/**
 * The Dead letters view: the list (by status and original topic), one
 * letter (original bytes as text and base64, headers, error, history,
 * lineage) and the operator's actions, through the admin routes themselves
 * (docs/domain.md section 7, Admin routes) with the injected admin token.
 */
import { adminToken, call, coalesced } from './api.js';
import { actionsForm } from './deadletter-actions.js';
import { renderLetterInfo, renderLetterRecord } from './deadletter-detail.js';
import { badge, byId, fill, h, report, time } from './dom.js';

/** @typedef {import('./deadletter-detail.js').Letter} Letter */

/** The letter whose detail is open, or null. */
let openId = /** @type {string | null} */ (null);
/** The letter the action form was built for: kept while it stays open. */
let formFor = /** @type {string | null} */ (null);
/** @type {Letter[]} */
let letters = [];
/** @type {string | null} */
let cursor = null;

/**
 * Wires the filters, the list and the refresh button.
 *
 * @param {{ open: (id: string | null) => void }} router sets the URL hash
 */
export function initDeadLetters(router) {
  for (const id of ['dl-filter-status', 'dl-filter-topic']) {
    byId(id).addEventListener('change', () => void refreshDeadLetters());
  }
  byId('dl-refresh').addEventListener('click', () => refreshAllDeadLetters());
  byId('dl-more').addEventListener('click', () => void loadMore());
  byId('dl-list').addEventListener('click', (event) => {
    const row = /** @type {Element} */ (event.target).closest('[data-id]');
    const id = row?.getAttribute('data-id');
    if (id) router.open(id);
  });
}

/**
 * Offers the topics the flow knows in the topic filter (keeps the choice).
 *
 * @param {string[]} topics
 */
export function offerTopics(topics) {
  const select = /** @type {HTMLSelectElement} */ (byId('dl-filter-topic'));
  const known = [...select.options].map((o) => o.value).slice(1);
  if (known.join() === topics.join()) return;
  const chosen = select.value;
  fill(
    select,
    h('option', { value: '' }, 'all'),
    topics.map((topic) => h('option', {}, topic)),
  );
  select.value = topics.includes(chosen) ? chosen : '';
}

/** @param {string | null} after */
function listPath(after) {
  const query = new URLSearchParams({ limit: '100' });
  const status = /** @type {HTMLSelectElement} */ (byId('dl-filter-status'))
    .value;
  const topic = /** @type {HTMLSelectElement} */ (byId('dl-filter-topic'))
    .value;
  if (status) query.set('status', status);
  if (topic) query.set('topic', topic);
  if (after) query.set('cursor', after);
  return `/dead-letters?${query}`;
}

/** Refetches the first page of the list (coalesced). */
export const refreshDeadLetters = coalesced(async () => {
  const answer = await call('GET', listPath(null), { admin: true });
  if (!answer.ok || !answer.body) {
    report(
      'deadletters',
      `Dead letters: ${answer.summary}${adminToken() ? '' : ' (the page has no admin token)'}`,
    );
    return;
  }
  report('deadletters', null);
  letters = answer.body.items ?? [];
  cursor = answer.body.cursor ?? null;
  renderList();
});

async function loadMore() {
  if (!cursor) return;
  const answer = await call('GET', listPath(cursor), { admin: true });
  if (!answer.ok || !answer.body) {
    report('deadletters', `Dead letters: ${answer.summary}`);
    return;
  }
  const seen = new Set(letters.map((l) => l.id));
  letters = [
    ...letters,
    ...(answer.body.items ?? []).filter(
      (/** @type {Letter} */ l) => !seen.has(l.id),
    ),
  ];
  cursor = answer.body.cursor ?? null;
  renderList();
}

function renderList() {
  const sorted = [...letters].sort((a, b) =>
    a.failedAt < b.failedAt ? 1 : a.failedAt > b.failedAt ? -1 : 0,
  );
  fill(
    byId('dl-list'),
    sorted.length === 0
      ? h('li', { class: 'muted empty-row' }, 'No dead letters.')
      : sorted.map((letter) =>
          h(
            'li',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'row-button',
                testid: 'dl-row',
                'data-id': letter.id,
                'aria-current': letter.id === openId ? 'true' : null,
              },
              h(
                'span',
                { class: 'line' },
                h('span', { class: 'mono id' }, letter.original.topic),
                h('span', { class: 'mono' }, letter.original.keyText ?? ''),
                badge(letter.status, 'dl-status'),
              ),
              h(
                'span',
                { class: 'line muted' },
                h('span', {}, `${letter.error.class}: ${letter.error.name}`),
                time(letter.failedAt),
              ),
            ),
          ),
        ),
  );
  byId('dl-more').hidden = cursor === null;
}

/**
 * Opens (or, with null, closes) a letter's detail.
 *
 * @param {string | null} id
 */
export function showDeadLetter(id) {
  const changed = id !== openId;
  openId = id;
  for (const row of document.querySelectorAll('[data-testid="dl-row"]')) {
    if (row.getAttribute('data-id') === id) {
      row.setAttribute('aria-current', 'true');
    } else row.removeAttribute('aria-current');
  }
  const detail = byId('dl-detail');
  detail.hidden = id === null;
  byId('dl-detail-empty').hidden = id !== null;
  if (id === null) return;
  if (changed) {
    formFor = null;
    fill(detail, h('p', { class: 'muted' }, 'Loading...'));
  }
  void refreshOpenLetter();
}

/** Refetches the list and the open letter (live event, reconnect, button). */
export function refreshAllDeadLetters() {
  void refreshDeadLetters();
  if (openId !== null) void refreshOpenLetter();
}

const refreshOpenLetter = coalesced(async () => {
  const id = openId;
  if (id === null) return;
  const answer = await call('GET', `/dead-letters/${encodeURIComponent(id)}`, {
    admin: true,
  });
  if (id !== openId) return;
  if (!answer.ok || !answer.body) {
    report('deadletter', `Dead letter ${id}: ${answer.summary}`);
    if (answer.status === 404) {
      fill(byId('dl-detail'), h('p', {}, `No dead letter ${id}.`));
      formFor = null;
    }
    return;
  }
  report('deadletter', null);
  renderDetail(answer.body);
});

/** @param {Letter} letter */
function renderDetail(letter) {
  const detail = byId('dl-detail');
  if (formFor !== letter.id) {
    fill(
      detail,
      h('div', { id: 'dl-info' }),
      actionsForm(letter, refreshAllDeadLetters),
      h('div', { id: 'dl-more-info' }),
    );
    formFor = letter.id;
  }
  const actionable =
    letter.status === 'SCHEDULED' || letter.status === 'PARKED';
  for (const control of detail.querySelectorAll(
    '#dl-actions button[data-testid], #dl-actions input',
  )) {
    /** @type {HTMLButtonElement | HTMLInputElement} */ (control).disabled =
      !actionable;
  }
  byId('dl-actions-hint').hidden = actionable;
  renderLetterInfo(letter);
  renderLetterRecord(letter);
}
