/** The problem types (`/problems/<slug>`) the document lists, and what each means. */

/**
 * The stable problem types (`/problems/<slug>`) the functions answer, and what each
 * means; a route lists those it can answer, by status.
 */
export const PROBLEM_TYPES = {
  'invalid-json':
    'The body is not JSON, or nests arrays or objects more than 64 deep.',
  validation:
    'The body (or query) breaks the schema; `errors` lists every failing field.',
  'invalid-cursor': 'The `cursor` is not one this API returned for this query.',
  'order-not-found':
    'There is no such order (also for an id that cannot be one).',
  'dead-letter-not-found':
    'There is no such dead letter (also for an id that is not `<topic>:<partition>:<offset>`).',
  'order-exists':
    'An order with this `orderId` exists; use another, or an `Idempotency-Key` to retry safely.',
  'idempotency-in-progress':
    'A request with this `Idempotency-Key` is still being answered; retry after `Retry-After`.',
  'idempotency-key-reused':
    'This `Idempotency-Key` was used with a different body.',
  'invalid-state':
    'The order or dead letter is not in a state that allows this (the detail says which it is in).',
  'payload-too-large': 'The body is over 64 KiB.',
  'unsupported-media-type': 'A body was sent that is not `application/json`.',
  unavailable:
    'A dependency (Kafka, DynamoDB) is down or too slow: nothing was done; retry after `Retry-After`.',
  internal:
    'A bug: the request failed unexpectedly. Quote the `x-correlation-id` when reporting it.',
  'route-not-found':
    'API Gateway routed the request, but the path it hands the function matches none of its routes: an id holding a `/` (sent as `%2F`, handed over decoded), or an empty segment (`//orders`).',
} as const;
export type ProblemSlug = keyof typeof PROBLEM_TYPES;
