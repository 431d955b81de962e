import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import {
  CountryCode,
  OrderItem,
  OrderPlaced,
  OrderPlacedData,
  PaymentInput,
  ShippingAddress,
} from '#domain/events.ts';
import {
  acceptsOrderPlaced,
  acceptsPaymentInput,
  KNOWN_KEYS,
  PaymentInputParser,
  withFastAccept,
} from '#domain/fast-accept.ts';
import { CurrencyCode, Money } from '#domain/money.ts';
import { placeOrder } from '#domain/order.ts';

/**
 * A parsed JSON value: JSON.parse's own return type, which is `any`. The mutations
 * below poke at arbitrary paths of arbitrary values; typing each step would only
 * restate what the runtime checks under test already check.
 */
type Json = ReturnType<typeof JSON.parse>;

const CURRENCIES = Intl.supportedValuesOf('currency');

/** Strings of 1..max UTF-16 code units, sometimes non-ASCII, sometimes at the limit. */
const text = (max: number) =>
  fc.oneof(
    fc.string({ minLength: 1, maxLength: Math.min(max, 40) }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: Math.min(max, 20) }),
    fc.constantFrom('x'.repeat(max), 'é'.repeat(max), '1'),
  );

/** Valid OrderPlaced events made by the domain, as JSON the consumer parses. */
const orderPlacedJson: fc.Arbitrary<string> = fc
  .record({
    orderId: fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), {
      nil: undefined,
    }),
    customerId: text(128),
    currency: fc.constantFrom(...CURRENCIES),
    items: fc.array(
      fc.record({
        productId: text(128),
        quantity: fc.integer({ min: 1, max: 10_000 }),
        unitPrice: fc.oneof(
          fc.integer({ min: 0, max: 100_000 }),
          fc.integer({ min: 0, max: 2 ** 40 }),
        ),
      }),
      { minLength: 1, maxLength: 100, size: 'small' },
    ),
    shippingAddress: fc.record({
      street: text(200),
      city: text(100),
      postalCode: text(20),
      country: fc.constantFrom(...CountryCode.options),
    }),
    correlationId: text(256),
    causationId: fc.option(fc.uuid(), { nil: null }),
    eventId: fc.uuid(),
    now: fc.date({
      min: new Date('0000-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    }),
  })
  .filter(({ items }) =>
    Number.isSafeInteger(
      items.reduce((sum, item) => sum + item.unitPrice * item.quantity, 0),
    ),
  )
  .map(({ correlationId, causationId, eventId, now, orderId, ...request }) => {
    const { event } = placeOrder(
      orderId === undefined ? request : { ...request, orderId },
      { correlationId, causationId },
      { now: () => now, uuid: () => eventId },
    );
    return JSON.stringify(event);
  });

/** Asserts what the fast path promises: zod accepts, and its output is the value. */
function expectZodAgrees(value: Json): void {
  const result = PaymentInput.safeParse(value);
  expect(result.success).toBe(true);
  expect(result.data).toStrictEqual(value);
  // Same keys in the same order: serialising either gives the same bytes.
  expect(JSON.stringify(result.data)).toBe(JSON.stringify(value));
}

describe('acceptsPaymentInput on valid events', () => {
  it('accepts every OrderPlaced the domain makes, as zod does, with the same output', () => {
    fc.assert(
      fc.property(orderPlacedJson, (json) => {
        // Prepare
        const value = JSON.parse(json);

        // Act
        const accepted = acceptsPaymentInput(value);

        // Assess
        expect(accepted).toBe(true);
        expectZodAgrees(value);
      }),
      { numRuns: 1_000 },
    );
  });
});

/** A path into a JSON value, and every path of a value (objects, arrays, leaves). */
type Path = readonly (string | number)[];

function pathsOf(value: Json, path: Path = []): Path[] {
  const paths: Path[] = [path];
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      paths.push(...pathsOf(item, [...path, index]));
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      paths.push(...pathsOf(value[key], [...path, key]));
    }
  }
  return paths;
}

function at(value: Json, path: Path): Json {
  return path.reduce((node, key) => node?.[key], value);
}

/** Values of the wrong type, at length and range limits, or that JSON cannot hold. */
const REPLACEMENTS: readonly Json[] = [
  null,
  undefined,
  true,
  0,
  -0,
  -1,
  1,
  0.5,
  1.5,
  10_000,
  10_001,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 1,
  1e21,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  '1',
  'x'.repeat(20),
  'x'.repeat(21),
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(100),
  'x'.repeat(101),
  'x'.repeat(128),
  'x'.repeat(129),
  'x'.repeat(200),
  'x'.repeat(201),
  'x'.repeat(256),
  'x'.repeat(257),
  'a/b',
  'EUR',
  'JPY',
  'eur',
  'XXX',
  'ZZZ',
  'DE',
  'de',
  'ZZ',
  'OrderPlaced',
  'OrderCancelled',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '123e4567-e89b-12d3-a456-426614174000',
  '123E4567-E89B-12D3-A456-426614174000',
  '123e4567-e89b-02d3-a456-426614174000',
  '123e4567-e89b-12d3-c456-426614174000',
  '123e4567e89b12d3a456426614174000',
  '2024-02-29T12:00:00Z',
  '2023-02-29T12:00:00Z',
  '2024-01-01T00:00:00.123456789Z',
  '2024-01-01T00:00:00+01:00',
  '2024-01-01T00:00:00',
  '2024-01-01T00:00:00z',
  '2024-01-01T24:00:00Z',
  '+012024-01-01T00:00:00.000Z',
  [],
  {},
  [{}],
  { amount: 1, currency: 'EUR' },
];

const NUMBERS = REPLACEMENTS.filter((r) => typeof r === 'number');

type Mutation = (value: Json, path: Path, replacement: Json) => void;

/** An object JSON text can make (not an array: JSON gives arrays no keys). */
function isJsonObject(node: Json): boolean {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

function parentOf(value: Json, path: Path): [Json, string | number] | null {
  if (path.length === 0) return null;
  return [at(value, path.slice(0, -1)), path[path.length - 1] as string];
}

const MUTATIONS: Readonly<Record<string, Mutation>> = {
  replace: (value, path, replacement) => {
    const parent = parentOf(value, path);
    if (parent) parent[0][parent[1]] = structuredClone(replacement);
  },
  drop: (value, path) => {
    const parent = parentOf(value, path);
    if (!parent) return;
    if (Array.isArray(parent[0])) parent[0].splice(Number(parent[1]), 1);
    else delete parent[0][parent[1]];
  },
  addKey: (value, path, replacement) => {
    const node = at(value, path);
    if (!isJsonObject(node)) return;
    for (const key of ['extra', 'constructor', 'toString']) {
      if (!(key in node) || key === 'constructor' || key === 'toString') {
        node[key] = structuredClone(replacement);
        return;
      }
    }
  },
  addProtoKey: (value, path, replacement) => {
    // As JSON.parse makes it: an own property named __proto__.
    const node = at(value, path);
    if (!isJsonObject(node)) return;
    Object.defineProperty(node, '__proto__', {
      value: structuredClone(replacement),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  },
  reorder: (value, path) => {
    const node = at(value, path);
    if (!isJsonObject(node)) return;
    const [first, ...rest] = Object.keys(node);
    if (first === undefined || rest.length === 0) return;
    const moved = node[first];
    delete node[first];
    node[first] = moved;
  },
  offByOne: (value, path) => {
    const parent = parentOf(value, path);
    if (!parent || typeof parent[0][parent[1]] !== 'number') return;
    parent[0][parent[1]] += parent[0][parent[1]] > 0 ? -1 : 1;
  },
  otherCurrency: (value) => {
    // A valid currency, but only on one side of the sum.
    const order = value?.data;
    if (isJsonObject(order?.items?.[0]?.unitPrice)) {
      order.items[0].unitPrice.currency =
        order.items[0].unitPrice.currency === 'EUR' ? 'USD' : 'EUR';
    }
  },
  sameCurrency: (value, _path, replacement) => {
    // Every currency the same (valid or not), so the sum still holds.
    const order = value?.data;
    if (!Array.isArray(order?.items) || !isJsonObject(order.total)) return;
    for (const item of order.items) {
      if (isJsonObject(item?.unitPrice)) item.unitPrice.currency = replacement;
    }
    order.total.currency = replacement;
  },
  number: (value, path, replacement) => {
    // A number where a number is, then the total made the sum again: what is left
    // to catch is the number's own range and kind.
    const numbers = pathsOf(value).filter(
      (p) => typeof at(value, p) === 'number',
    );
    const target = numbers[path.length % Math.max(numbers.length, 1)];
    const parent = target && parentOf(value, target);
    if (!parent) return;
    parent[0][parent[1]] =
      typeof replacement === 'number'
        ? replacement
        : NUMBERS[path.length % NUMBERS.length];
    MUTATIONS.retotal?.(value, [], null);
  },
  retotal: (value) => {
    // The total made the sum again, whatever the amounts and quantities now are.
    const order = value?.data;
    if (!Array.isArray(order?.items) || !isJsonObject(order.total)) return;
    order.total.amount = order.items.reduce(
      (sum: Json, item: Json) => sum + item?.unitPrice?.amount * item?.quantity,
      0,
    );
  },
  hugeItems: (value) => {
    const order = value?.data;
    if (!Array.isArray(order?.items) || order.items.length === 0) return;
    const item = order.items[0];
    if (!isJsonObject(item) || !isJsonObject(item.unitPrice)) return;
    order.items = Array.from({ length: 101 }, () => structuredClone(item));
    order.total = {
      amount: 101 * item.unitPrice.amount * item.quantity,
      currency: item.unitPrice.currency,
    };
  },
  nullPrototype: (value, path) => {
    const parent = parentOf(value, path);
    const node = at(value, path);
    if (!parent || !isJsonObject(node)) return;
    parent[0][parent[1]] = Object.assign(Object.create(null), node);
  },
};

describe('acceptsPaymentInput on mutated events (soundness)', () => {
  it('accepts only what zod accepts with an output equal to the value', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(
        orderPlacedJson,
        fc.array(
          fc.tuple(
            fc.constantFrom(...Object.keys(MUTATIONS)),
            fc.nat(),
            fc.constantFrom(...REPLACEMENTS),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        (json, mutations) => {
          // Prepare
          const value = JSON.parse(json);
          for (const [name, pick, replacement] of mutations) {
            const paths = pathsOf(value);
            const path = paths[pick % paths.length] ?? [];
            MUTATIONS[name]?.(value, path, replacement);
          }

          // Act
          const fast = acceptsPaymentInput(value);

          // Assess
          if (fast) {
            accepted += 1;
            expectZodAgrees(value);
          } else {
            rejected += 1;
          }
        },
      ),
      { numRuns: 5_000 },
    );
    // Both branches ran: a check that rejected everything would pass above.
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it.each([
    ['an unknown key', (v: Json) => Object.assign(v.data, { note: 'x' })],
    [
      'a __proto__ key',
      (v: Json) =>
        Object.defineProperty(v, '__proto__', {
          value: {},
          enumerable: true,
          writable: true,
          configurable: true,
        }),
    ],
    ['a total one off', (v: Json) => (v.data.total.amount += 1)],
    [
      'a float amount, summed',
      (v: Json) => {
        v.data.items = [v.data.items[0]];
        v.data.items[0].quantity = 1;
        v.data.items[0].unitPrice.amount = 0.5;
        v.data.total.amount = 0.5;
      },
    ],
    [
      'a negative amount, summed',
      (v: Json) => {
        v.data.items = [v.data.items[0]];
        v.data.items[0].quantity = 1;
        v.data.items[0].unitPrice.amount = -1;
        v.data.total.amount = -1;
      },
    ],
    [
      'a quantity of 0',
      (v: Json) => {
        v.data.items = [v.data.items[0]];
        v.data.items[0].quantity = 0;
        v.data.total.amount = 0;
      },
    ],
    [
      'a quantity of 10 001',
      (v: Json) => {
        v.data.items = [v.data.items[0]];
        v.data.items[0].quantity = 10_001;
        v.data.total.amount = 10_001 * v.data.items[0].unitPrice.amount;
      },
    ],
    [
      'an amount beyond 2^53, summed',
      (v: Json) => {
        v.data.items = [v.data.items[0]];
        v.data.items[0].quantity = 1;
        v.data.items[0].unitPrice.amount = 2 ** 53;
        v.data.total.amount = 2 ** 53;
      },
    ],
    [
      'a currency ICU does not know, everywhere',
      (v: Json) => {
        for (const item of v.data.items) item.unitPrice.currency = 'XXX';
        v.data.total.currency = 'XXX';
      },
    ],
    ['a bad uuid', (v: Json) => (v.eventId = 'not-a-uuid')],
    [
      'a datetime with an offset',
      (v: Json) => (v.occurredAt = '2024-01-01T00:00:00+01:00'),
    ],
    [
      'a country that is not assigned',
      (v: Json) => (v.data.shippingAddress.country = 'XK'),
    ],
    [
      'keys in another order',
      (v: Json) => {
        const { eventId } = v;
        delete v.eventId;
        v.eventId = eventId;
      },
    ],
  ])('leaves %s to zod', (_name, mutate) => {
    // Prepare
    const value = JSON.parse(
      fc.sample(orderPlacedJson, { numRuns: 1, seed: 7 })[0] as string,
    );
    mutate(value);

    // Act
    const accepted = acceptsOrderPlaced(value);

    // Assess
    expect(accepted).toBe(false);
  });
});

describe('PaymentInputParser', () => {
  it('hands an accepted value on as it is', () => {
    // Prepare
    const value = JSON.parse(
      fc.sample(orderPlacedJson, { numRuns: 1, seed: 1 })[0] as string,
    );

    // Act
    const result = PaymentInputParser.safeParse(value);

    // Assess
    expect(result).toEqual({ success: true, data: value });
    expect(result.data).toBe(value);
  });

  it('gives zod`s result, and its error, for anything else', () => {
    // Prepare
    const value = JSON.parse(
      fc.sample(orderPlacedJson, { numRuns: 1, seed: 2 })[0] as string,
    );
    value.data.total.amount += 1;

    // Act
    const result = PaymentInputParser.safeParse(value);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual(
      PaymentInput.safeParse(value).error?.issues,
    );
  });

  it('leaves OrderCancelled and PaymentOrphaned to zod, which accepts them', () => {
    // Prepare
    const cancelled = {
      eventId: '123e4567-e89b-12d3-a456-426614174000',
      eventType: 'OrderCancelled',
      version: 1,
      occurredAt: '2024-01-01T00:00:00.000Z',
      correlationId: 'c-1',
      causationId: null,
      data: {
        orderId: 'o-1',
        customerId: 'cu-1',
        reason: 'changed my mind',
        total: { amount: 100, currency: 'EUR' },
      },
    };

    // Act
    const accepted = acceptsPaymentInput(cancelled);
    const result = PaymentInputParser.safeParse(cancelled);

    // Assess
    expect(accepted).toBe(false);
    expect(result).toEqual({ success: true, data: cancelled });
  });

  it('wraps any schema: withFastAccept(schema, () => false) is the schema', () => {
    // Act
    const parser = withFastAccept(Money, (_v): _v is Money => false);

    // Assess
    expect(parser.safeParse({ amount: 1, currency: 'EUR' })).toEqual(
      Money.safeParse({ amount: 1, currency: 'EUR' }),
    );
    expect(parser.safeParse({ amount: -1, currency: 'EUR' }).success).toBe(
      false,
    );
  });
});

/**
 * Every node of a schema and the kinds of its checks: a change to OrderPlaced (a new
 * field, check, refine, default or format) changes this list, and the fast check must
 * be reviewed against it. Bounds and patterns are not listed: the fast check reads
 * them from the schemas.
 */
function checksOf(schema: z.ZodType, path = ''): string[] {
  const def = schema._zod.def as z.core.$ZodTypeDef & {
    format?: string;
    shape?: Record<string, z.ZodType>;
    element?: z.ZodType;
    innerType?: z.ZodType;
    values?: unknown[];
  };
  const checks = (def.checks ?? []).map((check) => {
    const own = check._zod.def as {
      check: string;
      format?: string;
      inclusive?: boolean;
    };
    if (own.format) return `${own.check}:${own.format}`;
    if (own.inclusive !== undefined) {
      return `${own.check}:${own.inclusive ? 'inclusive' : 'exclusive'}`;
    }
    return own.check;
  });
  const kind = def.format ? `${def.type}:${def.format}` : def.type;
  const line = `${path || '.'} ${kind}${checks.length ? ` [${checks.join(', ')}]` : ''}`;
  if (def.type === 'literal') return [`${line} ${JSON.stringify(def.values)}`];
  if (def.type === 'enum') return [line];
  const children: string[] = [];
  for (const [key, child] of Object.entries(def.shape ?? {})) {
    children.push(...checksOf(child, `${path}.${key}`));
  }
  if (def.element) children.push(...checksOf(def.element, `${path}[]`));
  if (def.innerType) children.push(...checksOf(def.innerType, path));
  return [line, ...children];
}

describe('the fast check knows the schemas', () => {
  it('knows every key of every object it accepts, in the schema`s order', () => {
    expect(Object.keys(OrderPlaced.shape)).toEqual(KNOWN_KEYS.orderPlaced);
    expect(Object.keys(OrderPlacedData.shape)).toEqual(
      KNOWN_KEYS.orderPlacedData,
    );
    expect(Object.keys(OrderPlaced.shape.data.shape)).toEqual(
      KNOWN_KEYS.orderPlacedData,
    );
    expect(Object.keys(OrderItem.shape)).toEqual(KNOWN_KEYS.orderItem);
    expect(Object.keys(Money.shape)).toEqual(KNOWN_KEYS.money);
    expect(Object.keys(ShippingAddress.shape)).toEqual(
      KNOWN_KEYS.shippingAddress,
    );
  });

  it('checks currencies with the refine it calls (CurrencyCode`s)', () => {
    // The fast check reads bounds and patterns from the schemas, but a refine is a
    // function: it calls currencyExponent as CurrencyCode does, so the schemas must
    // use CurrencyCode itself.
    const data = OrderPlaced.shape.data.shape;
    expect(data.total.shape.currency).toBe(CurrencyCode);
    expect(data.items.element.shape.unitPrice.shape.currency).toBe(
      CurrencyCode,
    );
    expect(OrderPlaced.shape.data).toBe(OrderPlacedData);
  });

  it('was written for exactly these nodes and checks of OrderPlaced', () => {
    // If this fails, OrderPlaced changed: update functions/domain/fast-accept.ts to
    // check what changed (or to reject it), then this list.
    expect(checksOf(OrderPlaced)).toEqual([
      '. object',
      '.eventId string:uuid',
      '.eventType literal ["OrderPlaced"]',
      '.version literal [1]',
      '.occurredAt string:datetime',
      '.correlationId string [min_length, max_length]',
      '.causationId nullable',
      '.causationId string:uuid',
      '.data object [custom]',
      '.data.orderId string [string_format:regex]',
      '.data.customerId string [min_length, max_length]',
      '.data.items array [min_length, max_length]',
      '.data.items[] object',
      '.data.items[].productId string [min_length, max_length]',
      '.data.items[].quantity number [number_format:safeint, greater_than:inclusive, less_than:inclusive]',
      '.data.items[].unitPrice object',
      '.data.items[].unitPrice.amount number [number_format:safeint, greater_than:inclusive, less_than:inclusive]',
      '.data.items[].unitPrice.currency string [custom]',
      '.data.total object',
      '.data.total.amount number [number_format:safeint, greater_than:inclusive, less_than:inclusive]',
      '.data.total.currency string [custom]',
      '.data.shippingAddress object',
      '.data.shippingAddress.street string [min_length, max_length]',
      '.data.shippingAddress.city string [min_length, max_length]',
      '.data.shippingAddress.postalCode string [min_length, max_length]',
      '.data.shippingAddress.country enum',
    ]);
  });
});
