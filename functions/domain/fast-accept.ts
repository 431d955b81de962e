/**
 * A fast accept path for the events the payment function consumes: a plain check,
 * compiled by hand from the zod schemas of events.ts, that says yes to a well-formed
 * OrderPlaced in a fraction of zod's time, and otherwise hands the value to zod, which
 * stays the one source of the types, the error messages and the JSON Schema
 * (docs/performance.md, Per-record cost, "A fast accept path").
 *
 * The check is sound by construction, not by luck: it returns true only for a value
 * that zod's `safeParse` accepts AND whose zod output deep-equals the value itself, so
 * handing the value on unchanged is what zod would have handed on.
 * - The value is JSON data, as JSON.parse makes it (an array holds its elements and
 *   nothing else; no accessors).
 * - Every object must be a plain object whose keys are exactly the schema's, in the
 *   schema's order (the order `newEvent` writes them): no unknown key that zod would
 *   strip, no missing key, no `__proto__` key; the accepted shapes have no defaults,
 *   transforms or optionals, so zod's output is the input, key for key.
 * - Bounds, regexes and enum values are read from the schemas at load (the same
 *   RegExp objects zod tests), and the refines call what the schemas call
 *   (`currencyExponent`, the items' total summed in the same order).
 * - Anything it does not know (other event types, other key orders, a null-prototype
 *   object) is simply not accepted: zod decides.
 * The unit tests check it against zod on thousands of valid and mutated events, and
 * fail when the schemas gain a field or a check this module does not know.
 */
import * as z from 'zod';
import { OrderPlaced, PaymentInput } from './events.ts';
import { currencyExponent, type Money } from './money.ts';

/**
 * What the consumer module needs of a schema: `safeParse`. A zod schema is one; so is
 * what {@link withFastAccept} returns.
 *
 * @example
 * ```ts
 * const parser: SafeParser<PaymentInput> = PaymentInput;
 * ```
 */
export interface SafeParser<T> {
  safeParse(value: unknown): z.ZodSafeParseResult<T>;
}

/**
 * A schema with a fast accept path in front: a value `accepts` says yes to is handed
 * on as it is, any other goes through `schema.safeParse` (which accepts it or says
 * why not). `accepts` must answer yes only where zod accepts and its output
 * deep-equals the value.
 *
 * @example
 * ```ts
 * const parser = withFastAccept(PaymentInput, acceptsPaymentInput);
 * const result = parser.safeParse(JSON.parse(text));
 * ```
 */
export function withFastAccept<S extends z.ZodType>(
  schema: S,
  accepts: (value: unknown) => value is z.output<S>,
): SafeParser<z.output<S>> {
  return {
    safeParse(value: unknown): z.ZodSafeParseResult<z.output<S>> {
      if (accepts(value)) return { success: true, data: value };
      return schema.safeParse(value);
    },
  };
}

/**
 * The keys of each accepted object, in the schema's order. Exported so that a unit
 * test fails when a schema gains (or loses, or reorders) a key this module does not
 * check.
 */
export const KNOWN_KEYS = {
  orderPlaced: [
    'eventId',
    'eventType',
    'version',
    'occurredAt',
    'correlationId',
    'causationId',
    'data',
  ],
  orderPlacedData: [
    'orderId',
    'customerId',
    'items',
    'total',
    'shippingAddress',
  ],
  orderItem: ['productId', 'quantity', 'unitPrice'],
  money: ['amount', 'currency'],
  shippingAddress: ['street', 'city', 'postalCode', 'country'],
} as const;

/** The checks of a string schema, as zod runs them: length bounds, then patterns. */
interface StringRule {
  readonly min: number;
  readonly max: number;
  readonly patterns: readonly RegExp[];
}

/** A string schema's bounds and the very RegExp objects zod tests it with. */
function stringRule(schema: z.ZodString | z.ZodStringFormat): StringRule {
  const patterns: RegExp[] = [];
  const own = (schema.def as { pattern?: RegExp }).pattern;
  if (own) patterns.push(own);
  for (const check of schema.def.checks ?? []) {
    const { pattern } = check._zod.def as { pattern?: RegExp };
    if (pattern) patterns.push(pattern);
  }
  return {
    min: schema.minLength ?? 0,
    max: schema.maxLength ?? Number.POSITIVE_INFINITY,
    patterns,
  };
}

function isString(value: unknown, rule: StringRule): value is string {
  if (typeof value !== 'string') return false;
  // zod measures strings in code points (a surrogate pair is one). A string of n
  // UTF-16 units has between n/2 and n of them: only outside that certainty is
  // counting needed, with zod's own counter.
  const units = value.length;
  if (units > rule.max || units < 2 * rule.min) {
    const points = z.util.codePointLength(value);
    if (points < rule.min || points > rule.max) return false;
  }
  for (const pattern of rule.patterns) {
    if (!pattern.test(value)) return false;
  }
  return true;
}

/** The checks of an integer schema (`.int().min(a).max(b)`). */
interface IntegerRule {
  readonly min: number;
  readonly max: number;
}

function integerRule(schema: z.ZodNumber): IntegerRule {
  if (!schema.isInt) throw new TypeError('fast-accept: expected an int schema');
  for (const check of schema.def.checks ?? []) {
    const { inclusive } = check._zod.def as { inclusive?: boolean };
    if (inclusive === false) {
      throw new TypeError('fast-accept: expected inclusive bounds');
    }
  }
  return {
    min: schema.minValue ?? Number.MIN_SAFE_INTEGER,
    max: schema.maxValue ?? Number.MAX_SAFE_INTEGER,
  };
}

function isInteger(value: unknown, rule: IntegerRule): value is number {
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= rule.min &&
    value <= rule.max
  );
}

/**
 * A plain object (as JSON.parse makes them) whose enumerable keys are exactly `keys`,
 * in that order. `for...in` walks the object without allocating; it also lists
 * inherited enumerable keys, which then do not match either.
 */
function hasExactly(
  value: unknown,
  keys: readonly string[],
): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  let index = 0;
  for (const key in value) {
    if (key !== keys[index]) return false;
    index += 1;
  }
  return index === keys.length;
}

// Every rule is read from the OrderPlaced schema's own tree, not from the named
// schemas it was built from, so a field given another schema cannot go unnoticed.
const envelope = OrderPlaced.shape;
const data = envelope.data.shape;
const lineItem = data.items.element.shape;
const address = data.shippingAddress.shape;
const EVENT_ID = stringRule(envelope.eventId);
const EVENT_TYPE = envelope.eventType.value;
const VERSION = envelope.version.value;
const OCCURRED_AT = stringRule(envelope.occurredAt);
const CORRELATION_ID = stringRule(envelope.correlationId);
const CAUSATION_ID = stringRule(envelope.causationId.unwrap());
const ORDER_ID = stringRule(data.orderId);
const CUSTOMER_ID = stringRule(data.customerId);
const ITEMS = arrayBounds(data.items);
const PRODUCT_ID = stringRule(lineItem.productId);
const QUANTITY = integerRule(lineItem.quantity);
const UNIT_PRICE = moneyRule(lineItem.unitPrice);
const TOTAL = moneyRule(data.total);
const STREET = stringRule(address.street);
const CITY = stringRule(address.city);
const POSTAL_CODE = stringRule(address.postalCode);
const COUNTRIES: ReadonlySet<unknown> = new Set(address.country.options);

/** Money's rules; its currency refine is `CurrencyCode`'s (a unit test checks). */
interface MoneyRule {
  readonly amount: IntegerRule;
  readonly currency: StringRule;
}

function moneyRule(schema: typeof Money): MoneyRule {
  return {
    amount: integerRule(schema.shape.amount),
    currency: stringRule(schema.shape.currency),
  };
}

/** An array schema's `.min(a).max(b)`, read from its checks. */
function arrayBounds(schema: z.ZodArray): { min: number; max: number } {
  let min = 0;
  let max = Number.POSITIVE_INFINITY;
  for (const check of schema.def.checks ?? []) {
    const def = check._zod.def as {
      check: string;
      minimum?: number;
      maximum?: number;
    };
    if (def.check === 'min_length') min = def.minimum ?? min;
    if (def.check === 'max_length') max = def.maximum ?? max;
  }
  return { min, max };
}

/** Money: a non-negative safe integer amount and a currency ICU knows. */
function isMoney(value: unknown, rule: MoneyRule): value is Money {
  if (!hasExactly(value, KNOWN_KEYS.money)) return false;
  return (
    isInteger(value.amount, rule.amount) &&
    isString(value.currency, rule.currency) &&
    currencyExponent(value.currency) !== undefined
  );
}

function isShippingAddress(value: unknown): boolean {
  if (!hasExactly(value, KNOWN_KEYS.shippingAddress)) return false;
  return (
    isString(value.street, STREET) &&
    isString(value.city, CITY) &&
    isString(value.postalCode, POSTAL_CODE) &&
    COUNTRIES.has(value.country)
  );
}

/**
 * The items and the total, with the schema's refine: every item in the total's
 * currency and the total their sum, added in the same order as `itemsTotal` adds them
 * (so a sum beyond 2^53 rounds the same way).
 */
function isItemsAndTotal(items: unknown, total: unknown): boolean {
  if (!Array.isArray(items) || !isMoney(total, TOTAL)) return false;
  if (items.length < ITEMS.min || items.length > ITEMS.max) return false;
  let sum = 0;
  for (let index = 0; index < items.length; index += 1) {
    const item: unknown = items[index];
    if (!hasExactly(item, KNOWN_KEYS.orderItem)) return false;
    const { productId, quantity, unitPrice } = item;
    if (!isString(productId, PRODUCT_ID)) return false;
    if (!isInteger(quantity, QUANTITY) || !isMoney(unitPrice, UNIT_PRICE)) {
      return false;
    }
    if (unitPrice.currency !== total.currency) return false;
    sum += unitPrice.amount * quantity;
  }
  return sum === total.amount;
}

/**
 * True only for an OrderPlaced.v1 event that `OrderPlaced.safeParse` accepts with an
 * output deep-equal to the value (see the module's comment); false for anything else,
 * which zod then judges. Allocates nothing.
 *
 * @example
 * ```ts
 * if (acceptsOrderPlaced(value)) charge(value);
 * ```
 */
export function acceptsOrderPlaced(value: unknown): value is OrderPlaced {
  if (!hasExactly(value, KNOWN_KEYS.orderPlaced)) return false;
  if (value.eventType !== EVENT_TYPE || value.version !== VERSION) return false;
  if (!isString(value.eventId, EVENT_ID)) return false;
  if (!isString(value.occurredAt, OCCURRED_AT)) return false;
  if (!isString(value.correlationId, CORRELATION_ID)) return false;
  const { causationId } = value;
  if (causationId !== null && !isString(causationId, CAUSATION_ID)) {
    return false;
  }
  const order = value.data;
  if (!hasExactly(order, KNOWN_KEYS.orderPlacedData)) return false;
  return (
    isString(order.orderId, ORDER_ID) &&
    isString(order.customerId, CUSTOMER_ID) &&
    isItemsAndTotal(order.items, order.total) &&
    isShippingAddress(order.shippingAddress)
  );
}

/**
 * The payment function's fast accept: an OrderPlaced (the hot case) as
 * {@link acceptsOrderPlaced}; OrderCancelled and PaymentOrphaned are left to zod.
 *
 * @example
 * ```ts
 * acceptsPaymentInput(JSON.parse(text)); // true for a valid OrderPlaced
 * ```
 */
export function acceptsPaymentInput(value: unknown): value is PaymentInput {
  return acceptsOrderPlaced(value);
}

/**
 * `PaymentInput` with the fast accept path in front: what the payment function's
 * consumer validates a record's value with (`schema: PaymentInputParser`).
 *
 * @example
 * ```ts
 * const result = PaymentInputParser.safeParse(JSON.parse(text));
 * ```
 */
export const PaymentInputParser: SafeParser<PaymentInput> = withFastAccept(
  PaymentInput,
  acceptsPaymentInput,
);
