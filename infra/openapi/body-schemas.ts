/**
 * The zod schemas the document names as components: request bodies, response
 * bodies, and the schemas several bodies share.
 */
import * as z from 'zod';
import { Liveness, Readiness } from '#commons/health.ts';
import { FieldError, Problem } from '#commons/http.ts';
import {
  DeadLetterId,
  DeadLetterPage,
  DeadLetterStatus,
  DeadLetterView,
  DiscardRequest,
  RedriveManyRequest,
  RedriveManyResponse,
  RedriveRequest,
} from '#domain/dead-letter.ts';
import { CountryCode, DomainEvent, OrderId } from '#domain/events.ts';
import { CurrencyCode, Money } from '#domain/money.ts';
import {
  CancelOrderRequest,
  Order,
  OrderHistory,
  OrderStatus,
  PlaceOrderRequest,
} from '#domain/order.ts';

/**
 * The error bodies API Gateway answers itself, before or instead of a function:
 * `{"message": "Forbidden"}` and the like (JSON, not problem+json).
 */
export const GatewayError = z.object({
  message: z.string(),
  /** Only from the local runtime, on a 401 or 403: how to authenticate there. */
  local: z
    .string()
    .optional()
    .describe(
      'Only from the local runtime (npm run dev), on a 401 or 403: how to authenticate there.',
    ),
});

/**
 * Request bodies, by component name: read with `io: 'input'` (what a client sends).
 * The tests parse every example of the document with these.
 */
export const REQUEST_SCHEMAS = {
  PlaceOrderRequest,
  CancelOrderRequest,
  RedriveRequest,
  RedriveManyRequest,
  DiscardRequest,
} as const satisfies Record<string, z.ZodType>;

/** Response bodies, by component name: read with `io: 'output'` (what is sent). */
export const RESPONSE_SCHEMAS = {
  Order,
  OrderHistory,
  Liveness,
  Readiness,
  Problem,
  GatewayError,
  DeadLetterView,
  DeadLetterPage,
  RedriveManyResponse,
} as const satisfies Record<string, z.ZodType>;

/** Schemas that several bodies share, given a name of their own (and a note). */
export const SHARED_SCHEMAS: Readonly<
  Record<string, { schema: z.ZodType; description?: string }>
> = {
  OrderId: { schema: OrderId },
  OrderStatus: { schema: OrderStatus },
  CurrencyCode: {
    schema: CurrencyCode,
    description:
      'An ISO-4217 currency code, e.g. `EUR`. The server accepts the codes the ICU data of Node.js knows (functions/domain/money.ts); the list is not repeated here.',
  },
  CountryCode: { schema: CountryCode },
  Money: {
    schema: Money,
    description:
      'Integer minor units of an ISO-4217 currency: `{ "amount": 123450, "currency": "EUR" }` is 1234.50 EUR. Never a float.',
  },
  DomainEvent: {
    schema: DomainEvent,
    description:
      'An event of the system in its envelope (docs/domain.md section 3; the JSON Schema of each event type is in schemas/).',
  },
  DeadLetterStatus: { schema: DeadLetterStatus },
  DeadLetterId: { schema: DeadLetterId },
  FieldError: { schema: FieldError },
};

export type RequestSchema = keyof typeof REQUEST_SCHEMAS;
export type ResponseSchema = keyof typeof RESPONSE_SCHEMAS;
