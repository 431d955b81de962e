/**
 * The Dead letters view: the list (by status and original topic), one
 * letter (original bytes as text and base64, headers, error, history,
 * lineage) and the operator's actions, through the admin routes themselves
 * (docs/domain.md section 7, Admin routes) with the injected admin token.
 */
import { adminToken, call, coalesced } from './api.js';
import {
  badge,
  base64Text,
  byId,
  field,
  fill,
  h,
  report,
  time,
} from './dom.js';

/**
 * @typedef {object} Letter a DeadLetterView (functions/domain/dead-letter.ts)
 * @property {string} id
 * @property {'consumer' | 'event-source-mapping'} source
 * @property {{ topic: string, partition: number, offset: string, timestamp: number,
 *   key: string | null, value: string | null, keyText: string | null,
 *   valueText: string | null, headers: { key: string, value: string }[] }} original
 * @property {{ class: string, name: string, message: string, stack: string | null }} error
 * @property {string} consumer
 * @property {number} attempt
 * @property {string | null} correlationId
 * @property {string} failedAt
 * @property {'SCHEDULED' | 'PARKED' | 'REDRIVEN' | 'DISCARDED'} status
 * @property {string | null} redriveAt
 * @property {{ at: string, action: string, by: string, note: string | null,
 *   correction?: { value: string, sha256: string, valueText: string | null } | null,
 *   outcome?: { result: string, topic: string, attempt: number } }[]} history
 * @property {string | null} redrivenFrom
 * @property {string} lineageId
 * @property {string[]} redrivenTo
 */

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
      actionsForm(letter),
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
  const { original, error } = letter;
  fill(
    byId('dl-info'),
    h(
      'header',
      { class: 'row spread' },
      h('h3', {}, 'Dead letter ', h('span', { class: 'mono' }, letter.id)),
      badge(letter.status, 'dl-detail-status'),
    ),
    h(
      'dl',
      { class: 'fields' },
      field('Topic', h('span', { class: 'mono' }, original.topic)),
      field(
        'Record',
        h(
          'span',
          { class: 'mono' },
          `[${original.partition}] @${original.offset}`,
        ),
      ),
      field('Record time', time(original.timestamp)),
      field('Failed at', time(letter.failedAt)),
      field('Consumer', letter.consumer),
      field('Source', letter.source),
      field('Attempt', String(letter.attempt)),
      field('Correlation', mono(letter.correlationId)),
      letter.status === 'SCHEDULED'
        ? field('Redrive at', time(letter.redriveAt))
        : null,
      field('Redriven from', letterLink(letter.redrivenFrom)),
      field(
        'Lineage',
        letter.lineageId === letter.id
          ? 'starts here'
          : letterLink(letter.lineageId),
      ),
      field(
        'Came back as',
        letter.redrivenTo.length === 0
          ? null
          : letter.redrivenTo.map((id) => [letterLink(id), ' ']),
      ),
    ),
    h(
      'div',
      { class: 'error-box' },
      h('strong', {}, `${error.class}: ${error.name}`),
      h('pre', { class: 'error' }, error.message),
      error.stack ? h('pre', { class: 'muted small' }, error.stack) : null,
    ),
  );
  fill(
    byId('dl-more-info'),
    h('h4', {}, 'Original record'),
    h(
      'dl',
      { class: 'fields' },
      field('Key', mono(original.keyText)),
      field('Key (base64)', mono(original.key)),
      field(
        'Value (base64)',
        original.value === null
          ? h('span', { class: 'muted' }, 'none (tombstone)')
          : h(
              'details',
              {},
              h(
                'summary',
                {},
                `${Math.ceil((original.value.length * 3) / 4)} bytes`,
              ),
              h('pre', { class: 'wrap' }, original.value),
            ),
      ),
    ),
    h('h4', {}, `Headers (${original.headers.length})`),
    original.headers.length === 0
      ? h('p', { class: 'muted' }, 'none')
      : h(
          'dl',
          { class: 'fields compact' },
          original.headers.map((header) => {
            const text = base64Text(header.value);
            return field(
              header.key,
              text === null
                ? h('span', { class: 'mono muted' }, `base64 ${header.value}`)
                : mono(text),
            );
          }),
        ),
    h('h4', {}, 'History'),
    h(
      'table',
      { class: 'history' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['At', 'Action', 'By', 'Note', 'Sent'].map((name) =>
            h('th', { scope: 'col' }, name),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        letter.history.map((entry) =>
          h(
            'tr',
            {},
            h('td', {}, time(entry.at)),
            h('td', {}, badge(entry.action)),
            h('td', {}, entry.by),
            h('td', {}, entry.note ?? ''),
            h(
              'td',
              {},
              entry.outcome
                ? `${entry.outcome.result} to ${entry.outcome.topic} (attempt ${entry.outcome.attempt}) `
                : null,
              entry.correction
                ? h(
                    'details',
                    {},
                    h(
                      'summary',
                      {},
                      `corrected value, sha256 ${entry.correction.sha256.slice(0, 12)}`,
                    ),
                    h(
                      'pre',
                      { class: 'wrap' },
                      entry.correction.valueText ??
                        `base64 ${entry.correction.value}`,
                    ),
                  )
                : entry.action === 'REDRIVEN' && entry.correction === null
                  ? 'original value'
                  : null,
            ),
          ),
        ),
      ),
    ),
  );
}

/**
 * The value editor and the three actions; built once per open letter so a
 * live refresh never drops what the operator typed.
 *
 * @param {Letter} letter
 */
function actionsForm(letter) {
  const value = /** @type {HTMLTextAreaElement} */ (
    h('textarea', {
      id: 'dl-value',
      testid: 'dl-value',
      rows: 10,
      spellcheck: 'false',
    })
  );
  value.value = letter.original.valueText ?? '';
  const note = /** @type {HTMLInputElement} */ (
    h('input', { id: 'dl-note', testid: 'dl-note', maxlength: 500 })
  );
  const reason = /** @type {HTMLInputElement} */ (
    h('input', {
      id: 'dl-discard-reason',
      testid: 'dl-discard-reason',
      maxlength: 500,
    })
  );
  const result = h('output', {
    testid: 'dl-action-result',
    class: 'result',
    'aria-live': 'polite',
  });
  const id = letter.id;
  /**
   * @param {string} path
   * @param {Record<string, unknown>} body
   */
  const act = async (path, body) => {
    fill(result, 'sending...');
    result.removeAttribute('data-status');
    const answer = await call('POST', path, { json: body, admin: true });
    result.setAttribute('data-status', String(answer.status));
    fill(
      result,
      answer.ok && answer.body && typeof answer.body.status === 'string'
        ? `${answer.status}: letter ${answer.body.status}`
        : answer.summary,
    );
    refreshAllDeadLetters();
  };
  const noteBody = () => (note.value.trim() ? { note: note.value.trim() } : {});
  const redrivePath = `/dead-letters/${encodeURIComponent(id)}/redrive`;
  return h(
    'form',
    {
      id: 'dl-actions',
      class: 'actions',
      onsubmit: (/** @type {Event} */ event) => event.preventDefault(),
    },
    h('h4', {}, 'Value'),
    h(
      'label',
      { for: 'dl-value' },
      letter.original.valueText === null
        ? 'The original value is not UTF-8 text (or there is none): write a corrected value as JSON'
        : 'The original value, as text: edit it to redrive a corrected value',
    ),
    value,
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            try {
              value.value = JSON.stringify(JSON.parse(value.value), null, 2);
              value.removeAttribute('aria-invalid');
            } catch (error) {
              value.setAttribute('aria-invalid', 'true');
              fill(result, `Not JSON: ${describe(error)}`);
            }
          },
        },
        'Format JSON',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            value.value = letter.original.valueText ?? '';
            value.removeAttribute('aria-invalid');
          },
        },
        'Reset to original',
      ),
    ),
    h(
      'p',
      { class: 'muted', id: 'dl-actions-hint', hidden: true },
      'Only a SCHEDULED or PARKED letter can be redriven or discarded.',
    ),
    h('label', { for: 'dl-note' }, 'Note (optional, kept in the history)'),
    note,
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        {
          type: 'button',
          testid: 'dl-redrive',
          onclick: () => void act(redrivePath, noteBody()),
        },
        'Redrive as is',
      ),
      h(
        'button',
        {
          type: 'button',
          testid: 'dl-redrive-corrected',
          onclick: () => {
            let corrected;
            try {
              corrected = JSON.parse(value.value);
            } catch (error) {
              value.setAttribute('aria-invalid', 'true');
              result.setAttribute('data-status', 'invalid');
              fill(
                result,
                `Not sent: the value is not valid JSON (${describe(error)})`,
              );
              value.focus();
              return;
            }
            value.removeAttribute('aria-invalid');
            void act(redrivePath, { value: corrected, ...noteBody() });
          },
        },
        'Correct and redrive',
      ),
    ),
    h('label', { for: 'dl-discard-reason' }, 'Reason to discard'),
    h(
      'div',
      { class: 'row' },
      reason,
      h(
        'button',
        {
          type: 'button',
          class: 'danger',
          testid: 'dl-discard',
          onclick: () => {
            if (!reason.value.trim()) {
              result.setAttribute('data-status', 'invalid');
              fill(result, 'Not sent: a discard needs a reason');
              reason.focus();
              return;
            }
            void act(`/dead-letters/${encodeURIComponent(id)}/discard`, {
              reason: reason.value.trim(),
            });
          },
        },
        'Discard',
      ),
    ),
    result,
  );
}

/** @param {unknown} error */
function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

/** @param {string | null | undefined} text */
function mono(text) {
  return text ? h('span', { class: 'mono' }, text) : null;
}

/** @param {string | null} id */
function letterLink(id) {
  if (!id) return null;
  return h(
    'a',
    { href: `#deadletters/${encodeURIComponent(id)}`, class: 'mono' },
    id,
  );
}
