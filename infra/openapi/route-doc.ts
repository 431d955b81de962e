/**
 * The shape of what the document says of one route: its summary, body, and the
 * answers it can give (successes and problems).
 */
import type * as z from 'zod';
import type { RequestSchema, ResponseSchema } from './body-schemas.ts';
import type { ProblemSlug } from './problem-types.ts';

/** A success answer: a JSON body, and its headers besides `x-correlation-id`. */
export interface Success {
  readonly description: string;
  readonly schema: ResponseSchema;
  readonly headers?: readonly ('Location' | 'Retry-After')[];
  readonly example?: unknown;
}

/** A problem answer: the problem types it can carry. */
export interface Failure {
  readonly description: string;
  readonly problems: readonly ProblemSlug[];
  readonly retryAfter?: true;
}

/** What the document says of one route. */
export interface RouteDoc {
  readonly summary: string;
  readonly description: string;
  readonly tag: 'orders' | 'health' | 'dead-letters';
  readonly query?: z.ZodObject;
  readonly headers?: readonly 'IdempotencyKey'[];
  readonly body?: {
    readonly schema: RequestSchema;
    readonly required: boolean;
    readonly description: string;
    readonly examples: Readonly<
      Record<string, { readonly summary: string; readonly value: unknown }>
    >;
  };
  readonly success: Readonly<Record<number, Success>>;
  readonly failures?: Readonly<Record<number, Failure>>;
  /** Whether the route calls a dependency, so that it may answer 503 `unavailable`. */
  readonly callsDependencies: boolean;
}
