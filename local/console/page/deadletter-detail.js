/**
 * One dead letter in the Dead letters view: its fields, lineage links and error,
 * the original record as text and base64 with its headers decoded, and its
 * history with corrections.
 */
import { badge, base64Text, byId, field, fill, h, time } from './dom.js';

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

/**
 * The letter's header, fields and error, in `#dl-info`.
 *
 * @param {Letter} letter
 */
export function renderLetterInfo(letter) {
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
}

/**
 * The original record (key, value, headers) and the history, in `#dl-more-info`.
 *
 * @param {Letter} letter
 */
export function renderLetterRecord(letter) {
  const { original } = letter;
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
    historyTitle(),
    historyTable(letter),
  );
}

/** The history's title. */
function historyTitle() {
  return h('h4', {}, 'History');
}

/**
 * The letter's history: each action, who took it, and what was sent.
 *
 * @param {Letter} letter
 */
function historyTable(letter) {
  return h(
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
  );
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
