/**
 * Small DOM and formatting helpers of the console page. Every piece of data
 * reaches the page through `h()` as a text node or an attribute, never as
 * HTML, so nothing the system stores can inject markup.
 */

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Child | Children[]} Children any nesting of arrays
 */

/**
 * Creates an element. `props`: `class`, `testid` (sets `data-testid`),
 * `on<event>` functions, and any other attribute (a `false`, `null` or
 * `undefined` value leaves it out; `true` sets it empty).
 *
 * @example
 * h('button', { type: 'button', testid: 'dl-redrive', onclick: go }, 'Redrive');
 *
 * @param {string} tag
 * @param {Record<string, unknown>} [props]
 * @param {...Children} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(
        name.slice(2),
        /** @type {EventListener} */ (value),
      );
    } else if (name === 'testid') {
      element.setAttribute('data-testid', String(value));
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/**
 * Creates an SVG element with attributes.
 *
 * @param {string} tag
 * @param {Record<string, string | number>} [attributes]
 * @param {...Children} children
 * @returns {SVGElement}
 */
export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/**
 * @param {Element} parent
 * @param {Children[]} children
 */
function append(parent, children) {
  // flat(Infinity) on a recursive type is too deep for tsc: go through unknown[].
  const flat = /** @type {Child[]} */ (
    /** @type {unknown[]} */ (children).flat(Number.POSITIVE_INFINITY)
  );
  for (const child of flat) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(
      typeof child === 'string' || typeof child === 'number'
        ? document.createTextNode(String(child))
        : child,
    );
  }
}

/**
 * Replaces an element's children.
 *
 * @param {Element} element
 * @param {...Children} children
 */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/**
 * An element by id; throws when the page lacks it (a broken index.html).
 *
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return /** @type {T} */ (element);
}

/**
 * A state badge: its color comes from app.css by `data-state`.
 *
 * @param {string} state
 * @param {string} [testid]
 * @returns {HTMLElement}
 */
export function badge(state, testid) {
  return h('span', { class: 'badge', 'data-state': state, testid }, state);
}

/**
 * A labelled value of a detail list (`<dt>`/`<dd>` pair).
 *
 * @param {string} term
 * @param {Children} value
 * @returns {HTMLElement[]}
 */
export function field(term, value) {
  const empty = value === null || value === undefined || value === '';
  return [
    h('dt', {}, term),
    h('dd', {}, empty ? h('span', { class: 'muted' }, '-') : value),
  ];
}

/**
 * Time of day with milliseconds, in the browser's time zone; the full ISO
 * time in the tooltip.
 *
 * @param {string | number | null | undefined} at
 * @returns {HTMLElement}
 */
export function time(at) {
  if (at === null || at === undefined)
    return h('span', { class: 'muted' }, '-');
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return h('span', {}, String(at));
  const iso = date.toISOString();
  const shown = `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${date.toLocaleTimeString(undefined, { hour12: false })}.${String(date.getMilliseconds()).padStart(3, '0')}`;
  return h('time', { datetime: iso, title: iso }, shown);
}

/**
 * Money as the API carries it (integer minor units), shown in major units.
 *
 * @param {{ amount: number, currency: string } | null | undefined} money
 * @returns {string}
 */
export function money(money) {
  if (!money) return '-';
  try {
    const format = new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency: money.currency,
    });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(money.amount / 10 ** digits);
  } catch {
    return `${money.amount} ${money.currency} (minor units)`;
  }
}

/**
 * Milliseconds, short.
 *
 * @param {number | null | undefined} ms
 * @returns {string}
 */
export function duration(ms) {
  if (ms === null || ms === undefined) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

/**
 * A number with thousands separators, or '-'.
 *
 * @param {number | null | undefined} value
 * @param {number} [digits]
 * @returns {string}
 */
export function count(value, digits = 0) {
  if (value === null || value === undefined) return '-';
  return value.toLocaleString(undefined, {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/**
 * Decodes base64 to text when the bytes are UTF-8; null otherwise.
 *
 * @param {string | null} base64
 * @returns {string | null}
 */
export function base64Text(base64) {
  if (base64 === null) return null;
  try {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** @type {Map<string, string>} */
const problems = new Map();

/**
 * Shows (or, with null, clears) what went wrong in one part of the page, in
 * the banner under the header; each part keeps its own line.
 *
 * @example
 * report('orders', answer.ok ? null : `Orders: ${answer.summary}`);
 *
 * @param {string} source
 * @param {string | null} message
 */
export function report(source, message) {
  if (message) problems.set(source, message);
  else problems.delete(source);
  const banner = byId('banner');
  banner.hidden = problems.size === 0;
  fill(banner, ...[...problems.values()].map((line) => h('span', {}, line)));
}
