/**
 * Every HTTP call of the page: the console's own JSON routes and the HTTP
 * API's routes (orders, and the admin routes with the injected token). Each
 * call has a deadline, and every answer comes back as a value: the page never
 * throws on a status code.
 */

/** A call that takes longer fails: the local system answers in milliseconds. */
const TIMEOUT_MS = 15_000;

/**
 * The admin token the console server wrote into index.html, or null when the
 * page was served without it (then the admin routes answer 401).
 *
 * @returns {string | null}
 */
export function adminToken() {
  const content = document
    .querySelector('meta[name="admin-token"]')
    ?.getAttribute('content');
  if (!content || content === '%ADMIN_TOKEN%') return null;
  return content;
}

/**
 * @typedef {object} Answer
 * @property {number} status HTTP status; 0 when no answer came
 * @property {boolean} ok 2xx
 * @property {any} body parsed JSON, else the text, else null (any: JSON of many shapes)
 * @property {string} summary one line: the status and a problem's title/detail
 */

/**
 * Calls a route of the HTTP API (same origin).
 *
 * @example
 * const answer = await call('GET', '/_console/api/flow');
 * if (answer.ok) render(answer.body);
 *
 * @param {string} method
 * @param {string} path
 * @param {{ json?: unknown, text?: string, admin?: boolean }} [options]
 * @returns {Promise<Answer>}
 */
export async function call(method, path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json, application/problem+json' };
  let body;
  if (options.text !== undefined) {
    body = options.text;
    headers['content-type'] = 'application/json';
  } else if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  if (options.admin) {
    const token = adminToken();
    if (token) headers.authorization = `Bearer ${token}`;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const reason =
      error instanceof DOMException && error.name === 'TimeoutError'
        ? `no answer within ${TIMEOUT_MS / 1000} s`
        : 'the local system does not answer (is npm run dev running?)';
    return { status: 0, ok: false, body: null, summary: reason };
  }
  const text = await response.text().catch(() => '');
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return {
    status: response.status,
    ok: response.ok,
    body: parsed,
    summary: summarize(response.status, response.statusText, parsed),
  };
}

/**
 * One line for an answer: `409 Conflict: invalid state: the letter is REDRIVEN`.
 * Knows problem+json (`title`, `detail`, `errors`) and API Gateway's
 * `{ message }`.
 *
 * @param {number} status
 * @param {string} statusText
 * @param {any} body any: whatever JSON the route answered
 * @returns {string}
 */
function summarize(status, statusText, body) {
  const head = `${status}${statusText ? ` ${statusText}` : ''}`;
  if (!body || typeof body !== 'object') return head;
  const parts = [];
  if (typeof body.title === 'string') parts.push(body.title);
  if (typeof body.detail === 'string') parts.push(body.detail);
  if (Array.isArray(body.errors)) {
    for (const error of body.errors.slice(0, 5)) {
      if (error && typeof error === 'object') {
        parts.push([error.field || '(body)', error.message].join(': '));
      }
    }
  }
  if (typeof body.message === 'string') parts.push(body.message);
  return parts.length > 0 ? `${head}: ${parts.join('; ')}` : head;
}

/**
 * Wraps a refresh so that calls never overlap: a call while one runs makes
 * one more run after it (however many calls came), so a burst of live events
 * costs at most two fetches.
 *
 * @example
 * const refreshOrders = coalesced(async () => render(await call('GET', url)));
 *
 * @param {() => Promise<void>} run
 * @returns {() => Promise<void>}
 */
export function coalesced(run) {
  /** @type {Promise<void> | null} */
  let running = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await run();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}
