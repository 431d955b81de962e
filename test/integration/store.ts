/** Helpers for tests against DynamoDB Local. */
import { createDocumentClient } from '#commons/dynamodb.ts';
import { LOCAL_AWS } from '#platform/dynamodb.ts';

/**
 * The error a call fails with, or undefined if it succeeds.
 *
 * @example
 * ```ts
 * expect(await failureOf(orders.append(stale, event))).toBeInstanceOf(OrderVersionConflictError);
 * ```
 */
export async function failureOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A document client for DynamoDB Local at `endpoint`, with its throwaway credentials. */
export function localDocumentClient(endpoint: string) {
  return createDocumentClient(
    { endpoint, region: LOCAL_AWS.region },
    { credentials: LOCAL_AWS.credentials },
  );
}
