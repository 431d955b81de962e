/**
 * The examples of the document: `POST /orders` bodies, and the order, history and
 * dead letter they lead to, built by the domain with a fixed clock.
 */
import { DeadLetterView } from '#domain/dead-letter.ts';
import { PlaceOrderRequest, placeOrder } from '#domain/order.ts';

/** A fixed clock, so that the examples built by the domain are the same every time. */
const EXAMPLE_CLOCK = {
  now: () => new Date('2025-01-15T10:00:00.000Z'),
  uuid: () => '3f1c2a4e-8b7d-4c6e-9a5f-1e2d3c4b5a69',
};

const ADDRESS = {
  street: 'Hauptstr. 1',
  city: 'Berlin',
  postalCode: '10115',
  country: 'DE',
};

/** `POST /orders` bodies: one that is paid, and one for each way a payment fails. */
export const ORDER_EXAMPLES = {
  paid: {
    summary: 'Paid: 2 x 19.99 EUR (the server picks the orderId)',
    value: {
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 2, unitPrice: 1999 }],
      shippingAddress: ADDRESS,
    },
  },
  declined: {
    summary:
      'Card declined: an orderId starting with `decline` (GATEWAY_DECLINED)',
    value: {
      orderId: 'decline-1001',
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 1, unitPrice: 1999 }],
      shippingAddress: ADDRESS,
    },
  },
  suspicious: {
    summary: 'Fraud: an orderId starting with `suspicious` (FRAUD_SUSPECTED)',
    value: {
      orderId: 'suspicious-1001',
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 1, unitPrice: 1999 }],
      shippingAddress: ADDRESS,
    },
  },
  overLimit: {
    summary:
      'Over the limit: a total above 1 000.00 EUR (AMOUNT_LIMIT_EXCEEDED)',
    value: {
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-tv', quantity: 1, unitPrice: 150000 }],
      shippingAddress: ADDRESS,
    },
  },
  aboveFraudThreshold: {
    summary: 'Fraud: a total above 10 000.00 EUR (FRAUD_SUSPECTED)',
    value: {
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-car', quantity: 1, unitPrice: 1500000 }],
      shippingAddress: ADDRESS,
    },
  },
  flaky: {
    summary:
      'Paid after retries: an orderId starting with `flaky` (the gateway fails twice)',
    value: {
      orderId: 'flaky-1001',
      customerId: 'cust-42',
      currency: 'EUR',
      items: [{ productId: 'sku-1', quantity: 1, unitPrice: 1999 }],
      shippingAddress: ADDRESS,
    },
  },
  yen: {
    summary: 'A currency without minor units: 1 500 JPY is `1500`',
    value: {
      customerId: 'cust-7',
      currency: 'JPY',
      items: [{ productId: 'sku-tea', quantity: 3, unitPrice: 500 }],
      shippingAddress: {
        street: '1-1 Chiyoda',
        city: 'Tokyo',
        postalCode: '100-0001',
        country: 'JP',
      },
    },
  },
} as const;

/** The order and its history the `paid` example places, built by the domain itself. */
export const placed = placeOrder(
  PlaceOrderRequest.parse(ORDER_EXAMPLES.paid.value),
  { correlationId: 'req-7f3a', causationId: null },
  EXAMPLE_CLOCK,
);

export const EXAMPLE_LETTER_ID = 'order.placed.v1.dead-letter:0:42';

/** A parked dead letter, as `GET /dead-letters/{id}` shows it. */
export const EXAMPLE_DEAD_LETTER = DeadLetterView.parse({
  id: EXAMPLE_LETTER_ID,
  source: 'consumer',
  original: {
    topic: 'order.placed.v1',
    partition: 0,
    offset: '17',
    timestamp: 1736935200000,
    key: Buffer.from('o-1').toString('base64'),
    value: Buffer.from('not json').toString('base64'),
    headers: [],
    keyText: 'o-1',
    valueText: 'not json',
  },
  error: {
    class: 'poison',
    name: 'NotJsonRecordError',
    message: 'the record value is not JSON',
    stack: null,
  },
  consumer: 'payment',
  attempt: 0,
  correlationId: null,
  failedAt: '2025-01-15T10:00:01.000Z',
  status: 'PARKED',
  redriveAt: null,
  history: [
    {
      at: '2025-01-15T10:00:02.000Z',
      action: 'RECEIVED',
      by: 'dlq-reprocessor',
      note: null,
    },
    {
      at: '2025-01-15T10:00:02.000Z',
      action: 'PARKED',
      by: 'dlq-reprocessor',
      note: 'poison: waits for an operator',
    },
  ],
  redrivenFrom: null,
  lineageId: EXAMPLE_LETTER_ID,
  redrivenTo: [],
});
