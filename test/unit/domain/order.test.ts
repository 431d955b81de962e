import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Causation,
  newEvent,
  OrderCancelled,
  OrderPlaced,
  type PaymentOutcome,
  ShippingRequested,
} from '#domain/events.ts';
import { PoisonRecordError } from '#domain/failures.ts';
import {
  applyEvent,
  CancelOrderRequest,
  type Order,
  Order as OrderSchema,
  type OrderStatus,
  PlaceOrderRequest,
  placeOrder,
  requestCancellation,
} from '#domain/order.ts';
import { fixedClock } from './fixtures.ts';

const causation: Causation = { correlationId: 'corr-1', causationId: null };

function body(overrides: Record<string, unknown> = {}) {
  return {
    customerId: 'cust-42',
    currency: 'EUR',
    items: [
      { productId: 'sku-1', quantity: 2, unitPrice: 1999 },
      { productId: 'sku-2', quantity: 1, unitPrice: 500 },
    ],
    shippingAddress: {
      street: 'Hauptstr. 1',
      city: 'Berlin',
      postalCode: '10115',
      country: 'DE',
    },
    ...overrides,
  };
}

function orderIn(status: OrderStatus, orderId = 'order-1'): Order {
  const clock = fixedClock();
  const { order } = placeOrder(
    PlaceOrderRequest.parse(body({ orderId })),
    causation,
    clock,
  );
  return { ...order, status, version: 3 };
}

const paymentClock = fixedClock('2025-01-02T10:00:00.000Z');
const outcomeCausation: Causation = {
  correlationId: 'corr-pay',
  causationId: '00000000-0000-4000-8000-0000000000aa',
};

function outcome(
  type: PaymentOutcome['eventType'],
  orderId = 'order-1',
): PaymentOutcome {
  const amount = { amount: 4498, currency: 'EUR' };
  switch (type) {
    case 'PaymentProcessed':
      return newEvent(
        type,
        { orderId, paymentId: 'pay-1', transactionId: 'txn-1', amount },
        outcomeCausation,
        paymentClock,
      );
    case 'PaymentFailed':
      return newEvent(
        type,
        {
          orderId,
          paymentId: 'pay-1',
          reason: 'AMOUNT_LIMIT_EXCEEDED',
          detail: 'too much',
        },
        outcomeCausation,
        paymentClock,
      );
    case 'PaymentRefunded':
      return newEvent(
        type,
        { orderId, paymentId: 'pay-1', refundId: 'ref-1', amount },
        outcomeCausation,
        paymentClock,
      );
  }
}

describe('PlaceOrderRequest', () => {
  it('accepts the documented body', () => {
    // Prepare
    const input = body({ orderId: 'client_chosen-1' });

    // Act
    const result = PlaceOrderRequest.safeParse(input);

    // Assess
    expect(result.success).toBe(true);
  });

  it('refuses unknown fields at every level, naming each', () => {
    // Prepare
    const input = body({
      total: 1,
      items: [{ productId: 'sku-1', quantity: 1, unitPrice: 1, colour: 'red' }],
      shippingAddress: {
        street: 's',
        city: 'c',
        postalCode: 'p',
        country: 'DE',
        floor: 3,
      },
    });

    // Act
    const result = PlaceOrderRequest.safeParse(input);

    // Assess
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['', 'items.0', 'shippingAddress']),
    );
    const unknown = result.error?.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys' ? issue.keys : [],
    );
    expect(unknown).toEqual(
      expect.arrayContaining(['total', 'colour', 'floor']),
    );
  });

  it('reports every failing field at once', () => {
    // Prepare
    const input = {
      orderId: 'has spaces',
      customerId: '',
      currency: 'EURO',
      items: [{ productId: 'sku-1', quantity: 0, unitPrice: 19.99 }],
      shippingAddress: {
        street: 's',
        city: 'c',
        postalCode: 'p',
        country: 'XX',
      },
    };

    // Act
    const result = PlaceOrderRequest.safeParse(input);

    // Assess
    const paths = result.error?.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'orderId',
        'customerId',
        'currency',
        'items.0.quantity',
        'items.0.unitPrice',
        'shippingAddress.country',
      ]),
    );
  });

  it.each([
    ['no items', []],
    [
      '101 items',
      Array.from({ length: 101 }, (_, i) => ({
        productId: `sku-${i}`,
        quantity: 1,
        unitPrice: 1,
      })),
    ],
    ['a negative price', [{ productId: 'a', quantity: 1, unitPrice: -1 }]],
  ])('refuses %s', (_name, items) => {
    // Prepare
    const input = body({ items });

    // Act
    const result = PlaceOrderRequest.safeParse(input);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe('items');
  });

  it('refuses a total that would not be a safe integer', () => {
    // Prepare
    const input = body({
      items: [
        {
          productId: 'a',
          quantity: 10_000,
          unitPrice: Number.MAX_SAFE_INTEGER,
        },
      ],
    });

    // Act
    const result = PlaceOrderRequest.safeParse(input);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/must not exceed/);
  });
});

describe('CancelOrderRequest', () => {
  it('refuses a blank reason', () => {
    // Prepare
    const input = { reason: '   ' };

    // Act
    const result = CancelOrderRequest.safeParse(input);

    // Assess
    expect(result.success).toBe(false);
  });
});

describe('placeOrder', () => {
  it('makes a PENDING order at version 1 with a server-computed total', () => {
    // Prepare
    const clock = fixedClock('2025-03-04T05:06:07.000Z');
    const request = PlaceOrderRequest.parse(body({ orderId: 'order-1' }));

    // Act
    const { order, event } = placeOrder(request, causation, clock);

    // Assess
    expect(order).toEqual({
      orderId: 'order-1',
      customerId: 'cust-42',
      status: 'PENDING',
      statusReason: null,
      items: [
        {
          productId: 'sku-1',
          quantity: 2,
          unitPrice: { amount: 1999, currency: 'EUR' },
        },
        {
          productId: 'sku-2',
          quantity: 1,
          unitPrice: { amount: 500, currency: 'EUR' },
        },
      ],
      total: { amount: 4498, currency: 'EUR' },
      shippingAddress: request.shippingAddress,
      version: 1,
      createdAt: '2025-03-04T05:06:07.000Z',
      updatedAt: '2025-03-04T05:06:07.000Z',
    });
    expect(OrderSchema.parse(order)).toEqual(order);
    expect(OrderPlaced.parse(event)).toEqual(event);
    expect(event).toMatchObject({
      eventType: 'OrderPlaced',
      correlationId: 'corr-1',
      causationId: null,
      occurredAt: '2025-03-04T05:06:07.000Z',
      data: { orderId: 'order-1', total: order.total, items: order.items },
    });
  });

  it('takes the order id from the clock when the client chose none', () => {
    // Prepare
    const clock = fixedClock();
    const request = PlaceOrderRequest.parse(body());

    // Act
    const { order, event } = placeOrder(request, causation, clock);

    // Assess
    expect(order.orderId).toBe('00000000-0000-4000-8000-000000000001');
    expect(event.data.orderId).toBe(order.orderId);
    expect(event.eventId).not.toBe(order.orderId);
  });

  it('prices in the currency of the request (JPY has no minor digits)', () => {
    // Prepare
    const request = PlaceOrderRequest.parse(
      body({
        currency: 'JPY',
        items: [{ productId: 'sku-1', quantity: 3, unitPrice: 1000 }],
      }),
    );

    // Act
    const { order } = placeOrder(request, causation, fixedClock());

    // Assess
    expect(order.total).toEqual({ amount: 3000, currency: 'JPY' });
    expect(order.items[0]?.unitPrice.currency).toBe('JPY');
  });

  it('always totals the sum of quantity x unit price', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            productId: fc.string({ minLength: 1, maxLength: 10 }),
            quantity: fc.integer({ min: 1, max: 10_000 }),
            unitPrice: fc.integer({ min: 0, max: 1_000_000_000 }),
          }),
          { minLength: 1, maxLength: 100 },
        ),
        fc.constantFrom('EUR', 'JPY', 'USD', 'BHD'),
        (items, currency) => {
          // Prepare
          const request = PlaceOrderRequest.parse(body({ items, currency }));
          const expected = items.reduce(
            (acc, item) => acc + item.quantity * item.unitPrice,
            0,
          );

          // Act
          const { order, event } = placeOrder(request, causation, fixedClock());

          // Assess
          expect(order.total).toEqual({ amount: expected, currency });
          expect(event.data.total).toEqual(order.total);
        },
      ),
    );
  });
});

describe('requestCancellation', () => {
  it.each<[OrderStatus, OrderStatus | 'INVALID_STATE']>([
    ['PENDING', 'CANCELLED'],
    ['PAID', 'CANCELLATION_REQUESTED'],
    ['PAYMENT_FAILED', 'INVALID_STATE'],
    ['CANCELLED', 'INVALID_STATE'],
    ['CANCELLATION_REQUESTED', 'INVALID_STATE'],
    ['REFUNDED', 'INVALID_STATE'],
  ])('from %s leads to %s', (from, expected) => {
    // Prepare
    const order = orderIn(from);
    const clock = fixedClock('2025-02-01T00:00:00.000Z');

    // Act
    const result = requestCancellation(
      order,
      'changed my mind',
      causation,
      clock,
    );

    // Assess
    if (expected === 'INVALID_STATE') {
      expect(result).toEqual({
        ok: false,
        error: 'INVALID_STATE',
        status: from,
      });
      return;
    }
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.order).toEqual({
      ...order,
      status: expected,
      statusReason: 'changed my mind',
      version: order.version + 1,
      updatedAt: '2025-02-01T00:00:00.000Z',
    });
    expect(OrderCancelled.parse(result.event).data).toEqual({
      orderId: order.orderId,
      customerId: order.customerId,
      reason: 'changed my mind',
      total: order.total,
    });
    expect(result.event.correlationId).toBe('corr-1');
  });
});

describe('applyEvent', () => {
  const IGNORED = 'ignored';
  it.each<[OrderStatus, PaymentOutcome['eventType'], OrderStatus | 'ignored']>([
    ['PENDING', 'PaymentProcessed', 'PAID'],
    ['PENDING', 'PaymentFailed', 'PAYMENT_FAILED'],
    ['PENDING', 'PaymentRefunded', IGNORED],
    ['PAID', 'PaymentProcessed', IGNORED],
    ['PAID', 'PaymentFailed', IGNORED],
    ['PAID', 'PaymentRefunded', IGNORED],
    ['PAYMENT_FAILED', 'PaymentProcessed', IGNORED],
    ['PAYMENT_FAILED', 'PaymentRefunded', IGNORED],
    ['CANCELLED', 'PaymentProcessed', IGNORED],
    ['CANCELLED', 'PaymentFailed', IGNORED],
    ['CANCELLED', 'PaymentRefunded', IGNORED],
    ['CANCELLATION_REQUESTED', 'PaymentProcessed', IGNORED],
    ['CANCELLATION_REQUESTED', 'PaymentRefunded', 'REFUNDED'],
    ['REFUNDED', 'PaymentRefunded', IGNORED],
  ])('%s + %s -> %s', (from, type, expected) => {
    // Prepare
    const order = orderIn(from);
    const event = outcome(type);

    // Act
    const result = applyEvent(order, event, fixedClock());

    // Assess
    expect(result.order.version).toBe(order.version + 1);
    expect(result.order.updatedAt).toBe(event.occurredAt);
    expect(result.order.createdAt).toBe(order.createdAt);
    if (expected === IGNORED) {
      expect(result.outcome).toBe('ignored');
      expect(result.order.status).toBe(from);
      expect(result.order.statusReason).toBe(order.statusReason);
      expect(result.emit).toEqual([]);
      expect(result.note).toContain(type);
      expect(result.note).toContain(from);
    } else {
      expect(result.outcome).toBe('applied');
      expect(result.order.status).toBe(expected);
      expect(result.note).toBeNull();
    }
    expect(OrderSchema.parse(result.order)).toEqual(result.order);
  });

  it('emits exactly one ShippingRequested caused by the payment', () => {
    // Prepare
    const order = orderIn('PENDING');
    const event = outcome('PaymentProcessed');
    const clock = fixedClock('2025-05-05T00:00:00.000Z');

    // Act
    const { emit } = applyEvent(order, event, clock);

    // Assess
    expect(emit).toHaveLength(1);
    const [shipping] = emit;
    expect(ShippingRequested.parse(shipping)).toEqual(shipping);
    expect(shipping).toMatchObject({
      eventType: 'ShippingRequested',
      causationId: event.eventId,
      correlationId: 'corr-pay',
      occurredAt: '2025-05-05T00:00:00.000Z',
      data: {
        orderId: order.orderId,
        customerId: order.customerId,
        shippingAddress: order.shippingAddress,
        items: order.items,
      },
    });
  });

  it('keeps the failure reason as the status reason', () => {
    // Prepare
    const order = orderIn('PENDING');

    // Act
    const { order: next, emit } = applyEvent(
      order,
      outcome('PaymentFailed'),
      fixedClock(),
    );

    // Assess
    expect(next.statusReason).toBe('AMOUNT_LIMIT_EXCEEDED');
    expect(emit).toEqual([]);
  });

  it('keeps the cancellation reason when the refund arrives', () => {
    // Prepare
    const order = {
      ...orderIn('CANCELLATION_REQUESTED'),
      statusReason: 'gift',
    };

    // Act
    const { order: next } = applyEvent(
      order,
      outcome('PaymentRefunded'),
      fixedClock(),
    );

    // Assess
    expect(next).toMatchObject({ status: 'REFUNDED', statusReason: 'gift' });
  });

  it('does not change the order it is given', () => {
    // Prepare
    const order = orderIn('PENDING');
    const before = structuredClone(order);

    // Act
    applyEvent(order, outcome('PaymentProcessed'), fixedClock());

    // Assess
    expect(order).toEqual(before);
  });

  it('throws PoisonRecordError for an event of another order', () => {
    // Prepare
    const order = orderIn('PENDING', 'order-1');
    const event = outcome('PaymentProcessed', 'order-2');

    // Act
    const apply = () => applyEvent(order, event, fixedClock());

    // Assess
    expect(apply).toThrow(PoisonRecordError);
    expect(apply).toThrow(/order-2/);
  });
});
