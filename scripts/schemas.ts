import * as z from 'zod';
import {
  DomainEvent,
  OrderCancelled,
  OrderPlaced,
  PaymentFailed,
  PaymentOrphaned,
  PaymentProcessed,
  PaymentRefunded,
  ShippingRequested,
} from '#domain/events.ts';

const EXPORTED: Readonly<Record<string, z.ZodType>> = {
  'domain-event.schema.json': DomainEvent,
  'order-placed.v1.schema.json': OrderPlaced,
  'order-cancelled.v1.schema.json': OrderCancelled,
  'payment-processed.v1.schema.json': PaymentProcessed,
  'payment-failed.v1.schema.json': PaymentFailed,
  'payment-refunded.v1.schema.json': PaymentRefunded,
  'payment-orphaned.v1.schema.json': PaymentOrphaned,
  'shipping-requested.v1.schema.json': ShippingRequested,
};

/**
 * The JSON Schema files, by file name, as formatted text. Cross-field rules (a total
 * equal to the sum of the items) and registry checks (assigned ISO codes) cannot be
 * expressed in JSON Schema and stay in the zod contract.
 *
 * @example
 * ```ts
 * renderSchemas()['order-placed.v1.schema.json'];
 * ```
 */
export function renderSchemas(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(EXPORTED).map(([file, schema]) => [
      file,
      `${JSON.stringify(
        { $id: file, ...z.toJSONSchema(schema, { io: 'output' }) },
        null,
        2,
      )}\n`,
    ]),
  );
}
