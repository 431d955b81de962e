/**
 * `npm run bench:records`: what one Kafka record costs before any handler sees it.
 *
 * Builds real MSK-shaped records (the shape of test/fixtures/msk-order-placed-batch.json:
 * base64 key and value, signed-byte headers) whose values are OrderPlaced.v1 events made
 * by the domain (`placeOrder`, hence `newEvent`), 1-3 items each, in EUR, USD and JPY.
 * Each round times, over all records, in an order that rotates between rounds:
 * - `JSON.parse`: JSON.parse of each value's text (the baseline: what reading it costs
 *   at all);
 * - `decode`: the value's base64 to UTF-8 text (`decodeValueText`) and the headers
 *   (`headerMap`);
 * - `MskEvent`: validating the whole event (`MskEvent.safeParse`), per record;
 * - `decode+OrderPlaced` and `decode+PaymentInput`: decode, JSON.parse, then the schema;
 * - `PaymentInput`, `fast accept` and `z.compile`: validation alone, of values parsed beforehand;
 * - `decode+fast accept`: decode, JSON.parse, then `PaymentInputParser` (the fast
 *   accept path of functions/domain/fast-accept.ts, falling back to zod on a reject);
 * - `decode+z.compile`: the same with `z.compile(PaymentInput)`, zod's own compiled
 *   parser, for comparison;
 * - `consumer path`: all that the consumer module does to a record before its
 *   handler, i.e. its share of `MskEvent`, decode, JSON.parse and `PaymentInput`.
 * It prints the median µs per record over the rounds, the ratio to the baseline, and
 * the goal line (decode + validate <= 2 µs, on the fast accept path). Figures, not
 * assertions: tests never time.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as z from 'zod';
import {
  decodeValueText,
  headerMap,
  MskEvent,
  type MskRecord,
} from '#commons/msk-event.ts';
import { HEADERS, OrderPlaced, PaymentInput, TOPICS } from '#domain/events.ts';
import { PaymentInputParser, type SafeParser } from '#domain/fast-accept.ts';
import { placeOrder } from '#domain/order.ts';
import { median } from './stats.ts';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const GOAL_US = 2;

/** Java's signed bytes, as the ESM sends header values. */
const signedBytes = (text: string) =>
  [...Buffer.from(text, 'utf8')].map((byte) =>
    byte > 127 ? byte - 256 : byte,
  );

const CURRENCIES = ['EUR', 'USD', 'JPY'] as const;
const clock = { now: () => new Date(), uuid: randomUUID };

function orderPlacedRecord(index: number): MskRecord {
  const items = Array.from({ length: 1 + (index % 3) }, (_, line) => ({
    productId: `sku-${index}-${line}`,
    quantity: 1 + ((index + line) % 4),
    unitPrice: 199 + 100 * line,
  }));
  const { event } = placeOrder(
    {
      customerId: `customer-${index % 97}`,
      currency: CURRENCIES[index % CURRENCIES.length] ?? 'EUR',
      items,
      shippingAddress: {
        street: `Hauptstraße ${index}`,
        city: 'Köln',
        postalCode: '50667',
        country: 'DE',
      },
    },
    { correlationId: randomUUID(), causationId: null },
    clock,
  );
  return {
    topic: TOPICS.orderPlaced,
    partition: index % 3,
    offset: index,
    timestamp: Date.now(),
    timestampType: 'CREATE_TIME',
    key: Buffer.from(event.data.orderId).toString('base64'),
    value: Buffer.from(JSON.stringify(event)).toString('base64'),
    headers: [
      { [HEADERS.eventType]: signedBytes(event.eventType) },
      { [HEADERS.correlationId]: signedBytes(event.correlationId) },
      { [HEADERS.contentType]: signedBytes('application/json') },
    ],
  };
}

const records = Array.from({ length: RECORDS }, (_, i) => orderPlacedRecord(i));
const texts = records.map((record) => decodeValueText(record) ?? '');
const event = {
  eventSource: 'aws:kafka',
  eventSourceArn: 'arn:aws:kafka:eu-west-1:111122223333:cluster/orders/x',
  bootstrapServers: 'b-1.orders.kafka.eu-west-1.amazonaws.com:9098',
  records: {
    [`${TOPICS.orderPlaced}-0`]: records.filter((r) => r.partition === 0),
    [`${TOPICS.orderPlaced}-1`]: records.filter((r) => r.partition === 1),
    [`${TOPICS.orderPlaced}-2`]: records.filter((r) => r.partition === 2),
  },
};
const values: unknown[] = texts.map((text) => JSON.parse(text));
const valueBytes = Math.round(
  texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0) / RECORDS,
);

/** Keeps the results alive, so that no work is optimised away. */
let sink = 0;

const CompiledPaymentInput = z.compile(PaymentInput);

function decodeAndValidate(schema: SafeParser<unknown>) {
  for (const record of records) {
    const text = decodeValueText(record);
    const headers = headerMap(record.headers);
    const result = schema.safeParse(JSON.parse(text ?? 'null'));
    if (!result.success || headers[HEADERS.eventType] === undefined) {
      throw new Error('a bench record failed to validate');
    }
    sink += 1;
  }
}

const CASES: Readonly<Record<string, () => void>> = {
  'JSON.parse': () => {
    for (const text of texts) sink += JSON.parse(text) === null ? 0 : 1;
  },
  decode: () => {
    for (const record of records) {
      sink += decodeValueText(record)?.length ?? 0;
      sink += headerMap(record.headers)[HEADERS.eventType]?.length ?? 0;
    }
  },
  MskEvent: () => {
    if (!MskEvent.safeParse(event).success) throw new Error('bad event');
  },
  PaymentInput: () => {
    for (const value of values) {
      sink += PaymentInput.safeParse(value).success ? 1 : 0;
    }
  },
  'fast accept': () => {
    for (const value of values) {
      sink += PaymentInputParser.safeParse(value).success ? 1 : 0;
    }
  },
  'z.compile': () => {
    for (const value of values) {
      sink += CompiledPaymentInput.safeParse(value).success ? 1 : 0;
    }
  },
  'decode+OrderPlaced': () => decodeAndValidate(OrderPlaced),
  'decode+PaymentInput': () => decodeAndValidate(PaymentInput),
  'decode+fast accept': () => decodeAndValidate(PaymentInputParser),
  'decode+z.compile': () => decodeAndValidate(CompiledPaymentInput),
  'consumer path': () => {
    if (!MskEvent.safeParse(event).success) throw new Error('bad event');
    decodeAndValidate(PaymentInput);
  },
};

const names = Object.keys(CASES);
const perRecord: Record<string, number[]> = Object.fromEntries(
  names.map((name) => [name, []]),
);
// Round 0 warms every case up and is not counted.
for (let round = 0; round <= ROUNDS; round += 1) {
  for (let i = 0; i < names.length; i += 1) {
    const name = names[(round + i) % names.length] as string;
    const started = performance.now();
    CASES[name]?.();
    const us = ((performance.now() - started) * 1000) / RECORDS;
    if (round > 0) perRecord[name]?.push(us);
  }
}

const us = (name: string) => median(perRecord[name] ?? []);
const base = us('JSON.parse');

console.log(
  `Per-record cost (median of ${ROUNDS} rounds, ${RECORDS} OrderPlaced.v1 records, ` +
    `values of ${valueBytes} B on average, 3 headers; Node.js ${process.versions.node})`,
);
for (const name of names) {
  console.log(
    `  ${name.padEnd(22)} ${us(name).toFixed(2).padStart(7)} µs  ` +
      `${(us(name) / base).toFixed(2).padStart(6)} x JSON.parse`,
  );
}
const total = us('decode+fast accept');
const beyond = total - base;
console.log(
  `  decode + validate (fast accept, JSON.parse included): ${total.toFixed(2)} µs; ` +
    `beyond JSON.parse: ${beyond.toFixed(2)} µs ` +
    `(goal: decode + validate <= ${GOAL_US} µs: ${beyond <= GOAL_US ? 'met' : 'not met'} ` +
    `beyond JSON.parse, ${total <= GOAL_US ? 'met' : 'not met'} with it)`,
);
console.log(
  `  validation alone: fast accept ${us('fast accept').toFixed(2)} µs, zod ` +
    `${us('PaymentInput').toFixed(2)} µs (${(us('PaymentInput') / us('fast accept')).toFixed(1)}x), ` +
    `z.compile ${us('z.compile').toFixed(2)} µs`,
);
if (sink === 0) console.log('(nothing was decoded)');
