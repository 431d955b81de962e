/**
 * Experiment 6 (docs/fault-suite.md): malformed requests at volume against every
 * route: random methods, paths, headers and bodies, and valid orders with one field
 * broken. No answer may be a 5xx other than 503 (a dependency that is down), and the
 * system must still take good orders afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  assertInvariants,
  type Experiment,
  hold,
  startExperiment,
} from './harness/experiment.ts';
import { orderBody, send } from './harness/load.ts';

/** How many requests; FAULTS_FUZZ_REQUESTS changes it. */
const REQUESTS = Number(process.env.FAULTS_FUZZ_REQUESTS ?? 600);
/** Requests in flight at once. */
const CONCURRENCY = 6;
/** fast-check's seed: FAULTS_FUZZ_SEED replays a run. */
const SEED = Number(process.env.FAULTS_FUZZ_SEED ?? Date.now() % 2 ** 31);

let experiment: Experiment;
beforeAll(async () => {
  experiment = await startExperiment('http-fuzz');
});
afterAll(() => experiment?.stop());

const segment = fc.oneof(
  fc.string({ maxLength: 80 }).map(encodeURIComponent),
  fc.constantFrom(
    '%ZZ',
    '%00',
    '..',
    '',
    '%2F',
    'a'.repeat(300),
    'é',
    '{orderId}',
  ),
);

const path = fc.oneof(
  fc.constant('/orders'),
  segment.map((id) => `/orders/${id}`),
  segment.map((id) => `/orders/${id}/cancel`),
  segment.map((id) => `/orders/${id}/events`),
  fc.constantFrom('/health', '/dead-letters', '//orders', '/orders/', '/'),
  fc.array(segment, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
);

/** A valid order with one field replaced, removed or added. */
const brokenOrder = fc
  .tuple(
    fc.constantFrom(
      'orderId',
      'customerId',
      'currency',
      'items',
      'shippingAddress',
      'total',
    ),
    fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(
        undefined,
        -1,
        0,
        1e308,
        2 ** 53,
        'XXX',
        'ZZ',
        '',
        [],
        Array.from({ length: 101 }, () => ({
          productId: 'p',
          quantity: 1,
          unitPrice: 1,
        })),
        [{ productId: 'p', quantity: 10_001, unitPrice: 1 }],
        [{ productId: 'p', quantity: 1, unitPrice: 2 ** 53 }],
        { street: 'a', city: 'b', postalCode: 'c', country: 'UK' },
      ),
    ),
  )
  .map(([field, value]) => {
    const body: Record<string, unknown> = orderBody(
      `fuzz-${Math.random().toString(36).slice(2)}`,
    );
    if (value === undefined) delete body[field];
    else body[field] = value;
    return JSON.stringify(body);
  });

const body = fc.oneof(
  brokenOrder,
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(
    '{',
    '{"orderId":',
    'null',
    '[]',
    '"',
    '\u0000',
    `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
    `{"a":"${'x'.repeat(70_000)}"}`,
  ),
  fc.constant(undefined),
);

const headersArb = {
  contentType: fc.constantFrom(
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    undefined,
  ),
  idempotencyKey: fc.option(fc.string({ maxLength: 300 })),
  correlationId: fc.option(fc.string({ maxLength: 400 })),
  body,
};

/** Aimed at the routes (the method each takes), so that most reach a handler. */
const routed = fc.record({
  ...headersArb,
  route: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ method: 'POST', path: '/orders' }) },
    {
      weight: 2,
      arbitrary: segment.map((id) => ({
        method: 'POST',
        path: `/orders/${id}/cancel`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(segment, fc.constantFrom('', '/events'))
        .map(([id, tail]) => ({ method: 'GET', path: `/orders/${id}${tail}` })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        { method: 'GET', path: '/health' },
        { method: 'GET', path: '/dead-letters?limit=-1' },
        { method: 'POST', path: '/dead-letters/redrive' },
      ),
    },
  ),
});

/** Anything: methods and paths that match no route. */
const anything = fc.record({
  ...headersArb,
  route: fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
    path,
  }),
});

const request = fc.oneof(
  { weight: 4, arbitrary: routed },
  { weight: 1, arbitrary: anything },
);

/** A header value fetch accepts: printable ASCII only. */
const headerSafe = (value: string) => value.replace(/[^\x20-\x7e]/g, '?');

it('answers no malformed request with a 5xx other than 503', async () => {
  console.log(`[faults] http-fuzz: seed=${SEED} requests=${REQUESTS}`);
  const requests = fc.sample(request, { seed: SEED, numRuns: REQUESTS });
  const bodyless = new Set(['GET', 'HEAD']);
  const serverErrors: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < requests.length; i = next++) {
      const r = requests[i];
      if (!r) continue;
      const headers: Record<string, string> = {};
      if (r.contentType) headers['content-type'] = r.contentType;
      if (r.idempotencyKey !== null)
        headers['idempotency-key'] = headerSafe(r.idempotencyKey);
      if (r.correlationId !== null)
        headers['x-correlation-id'] = headerSafe(r.correlationId);
      const { method, path } = r.route;
      const answer = await send(
        experiment.record,
        `${experiment.system.url}${path}`,
        {
          method,
          headers,
          ...(bodyless.has(method) || r.body === undefined
            ? {}
            : { body: r.body }),
        },
      );
      if (answer.status >= 500 && answer.status !== 503) {
        serverErrors.push(
          `${method} ${path.slice(0, 80)} -> ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const statuses = [...experiment.record.statuses]
    .sort(([a], [b]) => a - b)
    .map(([status, count]) => `${status}x${count}`)
    .join(' ');
  console.log(`[faults] http-fuzz: answers ${statuses}`);
  if (serverErrors.length > 0) {
    console.log(
      `[faults] http-fuzz: 5xx\n  ${serverErrors.slice(0, 20).join('\n  ')}`,
    );
  }

  // Then a short stream of good orders: the system still works.
  let loadEnded = 0;
  await experiment.withLoad(async () => {
    await hold(8_000);
    loadEnded = performance.now();
  });
  const figures = await experiment.figures(
    await experiment.recovery(loadEnded),
  );
  expect(figures.acknowledged).toBeGreaterThan(0);
  assertInvariants(figures);
});
