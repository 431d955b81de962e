/**
 * The operator's actions on one dead letter: edit the value, redrive it as is or
 * corrected, or discard it with a reason, through the admin routes themselves
 * (docs/domain.md section 7, Admin routes) with the injected admin token.
 */
import { call } from './api.js';
import { fill, h } from './dom.js';

/** @typedef {import('./deadletter-detail.js').Letter} Letter */

/**
 * The value editor and the three actions; built once per open letter so a
 * live refresh never drops what the operator typed.
 *
 * @param {Letter} letter
 * @param {() => void} refreshAll refetches the list and the open letter after an action
 */
export function actionsForm(letter, refreshAll) {
  const parts = formParts(letter, refreshAll);
  const { value, note, result } = parts;
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
    valueTools(parts),
    h(
      'p',
      { class: 'muted', id: 'dl-actions-hint', hidden: true },
      'Only a SCHEDULED or PARKED letter can be redriven or discarded.',
    ),
    h('label', { for: 'dl-note' }, 'Note (optional, kept in the history)'),
    note,
    redriveButtons(parts),
    h('label', { for: 'dl-discard-reason' }, 'Reason to discard'),
    discardRow(parts),
    result,
  );
}

/**
 * @typedef {object} FormParts the controls of the form, and how it sends
 * @property {Letter} letter
 * @property {HTMLTextAreaElement} value
 * @property {HTMLInputElement} note
 * @property {HTMLInputElement} reason
 * @property {HTMLElement} result
 * @property {(path: string, body: Record<string, unknown>) => Promise<void>} act
 * @property {() => { note?: string }} noteBody
 * @property {string} redrivePath
 */

/**
 * The form's controls, and `act`: one admin call, its answer in `result`.
 *
 * @param {Letter} letter
 * @param {() => void} refreshAll
 * @returns {FormParts}
 */
function formParts(letter, refreshAll) {
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
    refreshAll();
  };
  const noteBody = () => (note.value.trim() ? { note: note.value.trim() } : {});
  const redrivePath = `/dead-letters/${encodeURIComponent(id)}/redrive`;
  return { letter, value, note, reason, result, act, noteBody, redrivePath };
}

/**
 * Format JSON, and reset to the original value.
 *
 * @param {FormParts} parts
 */
function valueTools({ letter, value, result }) {
  return h(
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
  );
}

/**
 * Redrive as is, and correct and redrive.
 *
 * @param {FormParts} parts
 */
function redriveButtons({ value, result, act, noteBody, redrivePath }) {
  return h(
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
  );
}

/**
 * The discard reason and button.
 *
 * @param {FormParts} parts
 */
function discardRow({ letter, reason, result, act }) {
  const id = letter.id;
  return h(
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
  );
}

/** @param {unknown} error */
function describe(error) {
  return error instanceof Error ? error.message : String(error);
}
