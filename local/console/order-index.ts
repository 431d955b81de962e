/**
 * The console's index of Kafka records by order (docs/console.md): a kafkajs
 * consumer reads every topic of the model, dead-letter topics included, from the
 * beginning, through a consumer group of its own that is deleted when it stops, and
 * files each record under its order id (the record key; for a dead letter, the key
 * of the record that failed). It starts with the console's first request, so a
 * runtime nobody watches reads nothing; at most {@link MAX_INDEXED_EVENTS} records
 * are kept, the oldest forgotten first. This module files the records; the consumer
 * that reads them is local/console/index-consumer.ts.
 */
import {
  DEAD_LETTER_EVENT_TYPE,
  parseDeadLetter,
} from '#commons/dead-letter-codec.ts';
import { isRecord } from '#commons/guards.ts';
import { DomainEvent } from '#domain/events.ts';
import { RingBuffer } from './observer.ts';

/** Records kept in memory. */
export const MAX_INDEXED_EVENTS = 20_000;

/** A value shown as text is cut here. */
const MAX_VALUE_TEXT = 16 * 1024;

/** `<topic>.dead-letter` (docs/domain.md section 2). */
const DEAD_LETTER_SUFFIX = '.dead-letter';

/** One Kafka record of an order, as the console's timeline shows it. */
export interface IndexedEvent {
  readonly kind: 'event';
  /** The record's timestamp, ISO-8601. */
  readonly at: string;
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are int64: a decimal string. */
  readonly offset: string;
  readonly key: string | null;
  /** The envelope's `eventType`; `DeadLetter` on a dead-letter topic; null if unreadable. */
  readonly eventType: string | null;
  readonly eventId: string | null;
  readonly correlationId: string | null;
  readonly causationId: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** A valid event of the domain (or, on a dead-letter topic, a readable dead letter). */
  readonly valid: boolean;
  /** The value as text, only when not valid (cut at 16 KiB). */
  readonly valueText?: string | null;
  /** On a dead-letter topic: the letter's id (`<topic>:<partition>:<offset>`). */
  readonly deadLetterId?: string;
  /** On a dead-letter topic: where the record that failed was. */
  readonly original?: {
    readonly topic: string;
    readonly partition: number;
    readonly offset: string;
  };
}

/** A record as read from Kafka (kafkajs' message, reduced to what is indexed). */
export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** Epoch milliseconds, as kafkajs gives it (a decimal string). */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<
    Record<string, Buffer | string | (Buffer | string)[] | undefined>
  >;
}

/**
 * A record decoded for the timeline, with the order it belongs to; undefined when
 * it names no order (no key, and no `orderId` in its value).
 *
 * @example
 * ```ts
 * const indexed = indexRecord({ topic: 'order.placed.v1', partition: 0, offset: '7',
 *   timestamp: '1700000000000', key: Buffer.from('o-1'), value, headers: {} });
 * indexed?.orderId; // 'o-1'
 * ```
 */
export function indexRecord(
  record: RawRecord,
): { orderId: string; event: IndexedEvent } | undefined {
  const base = {
    kind: 'event' as const,
    at: isoOf(record.timestamp),
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key === null ? null : record.key.toString('utf8'),
    headers: headerText(record.headers),
  };
  const parsed = parseJson(record.value);
  if (record.topic.endsWith(DEAD_LETTER_SUFFIX)) {
    return deadLetterEntry(record, base, parsed);
  }
  const checked = DomainEvent.safeParse(parsed);
  const envelope = isRecord(parsed) ? parsed : {};
  const data = isRecord(envelope.data) ? envelope.data : {};
  const orderId = base.key || stringOr(data.orderId);
  if (!orderId) return undefined;
  return {
    orderId,
    event: {
      ...base,
      eventType: stringOr(envelope.eventType),
      eventId: stringOr(envelope.eventId),
      correlationId:
        stringOr(envelope.correlationId) ??
        base.headers['correlation-id'] ??
        null,
      causationId: stringOr(envelope.causationId),
      valid: checked.success,
      ...(checked.success ? {} : { valueText: valueText(record.value) }),
    },
  };
}

function deadLetterEntry(
  record: RawRecord,
  base: Omit<
    IndexedEvent,
    'eventType' | 'eventId' | 'correlationId' | 'causationId' | 'valid'
  >,
  parsed: unknown,
): { orderId: string; event: IndexedEvent } | undefined {
  let letter: ReturnType<typeof parseDeadLetter> | undefined;
  try {
    letter = parseDeadLetter(parsed, record);
  } catch {
    letter = undefined;
  }
  const originalKey =
    letter?.original.key == null
      ? null
      : Buffer.from(letter.original.key, 'base64').toString('utf8');
  const originalValue = parseJson(
    letter?.original.value == null
      ? null
      : Buffer.from(letter.original.value, 'base64'),
  );
  const originalData =
    isRecord(originalValue) && isRecord(originalValue.data)
      ? originalValue.data
      : {};
  const orderId = originalKey || base.key || stringOr(originalData.orderId);
  if (!orderId) return undefined;
  return {
    orderId,
    event: {
      ...base,
      eventType: DEAD_LETTER_EVENT_TYPE,
      eventId: null,
      correlationId:
        letter?.correlationId ?? base.headers['correlation-id'] ?? null,
      // The event that failed, when it is one: the letter is its consequence.
      causationId: isRecord(originalValue)
        ? stringOr(originalValue.eventId)
        : null,
      valid: letter !== undefined,
      ...(letter === undefined
        ? { valueText: valueText(record.value) }
        : {
            deadLetterId: letter.id,
            original: {
              topic: letter.original.topic,
              partition: letter.original.partition,
              offset: letter.original.offset,
            },
          }),
    },
  };
}

/**
 * Records by order, at most `capacity` of them (the oldest forgotten first), each
 * once (a record read again after the consumer restarted is skipped).
 *
 * @example
 * ```ts
 * const index = new OrderIndex();
 * index.add('o-1', event);
 * index.eventsOf('o-1'); // [event]
 * ```
 */
export class OrderIndex {
  readonly #byOrder = new Map<string, IndexedEvent[]>();
  /** `topic:partition:offset` -> order id. */
  readonly #byPosition = new Map<string, string>();
  readonly #arrival: RingBuffer<{ orderId: string; position: string }>;

  constructor(capacity = MAX_INDEXED_EVENTS) {
    this.#arrival = new RingBuffer(capacity);
  }

  /** Files the event; false when that record is already indexed. */
  add(orderId: string, event: IndexedEvent): boolean {
    const position = positionKey(event.topic, event.partition, event.offset);
    if (this.#byPosition.has(position)) return false;
    const evicted = this.#arrival.push({ orderId, position });
    if (evicted) this.#forget(evicted.orderId, evicted.position);
    this.#byPosition.set(position, orderId);
    const events = this.#byOrder.get(orderId);
    if (events) events.push(event);
    else this.#byOrder.set(orderId, [event]);
    return true;
  }

  /** The order's records, oldest first (by timestamp, then arrival). */
  eventsOf(orderId: string): IndexedEvent[] {
    const events = [...(this.#byOrder.get(orderId) ?? [])];
    return events.sort((a, b) => a.at.localeCompare(b.at));
  }

  /** The order a record belongs to, if that record is indexed. */
  orderAt(
    topic: string,
    partition: number,
    offset: number | string,
  ): string | undefined {
    return this.#byPosition.get(positionKey(topic, partition, String(offset)));
  }

  get size(): number {
    return this.#arrival.size;
  }

  #forget(orderId: string, position: string): void {
    this.#byPosition.delete(position);
    const events = this.#byOrder.get(orderId);
    if (!events) return;
    // Arrival order is kept per order: the evicted record is its first.
    events.shift();
    if (events.length === 0) this.#byOrder.delete(orderId);
  }
}

function positionKey(topic: string, partition: number, offset: string): string {
  return `${topic}:${partition}:${offset}`;
}

function headerText(headers: RawRecord['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    out[name] = values
      .map((v) => (typeof v === 'string' ? v : v.toString('utf8')))
      .join(',');
  }
  return out;
}

function parseJson(value: Buffer | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function valueText(value: Buffer | null): string | null {
  if (value === null) return null;
  const text = value.toString('utf8');
  return text.length > MAX_VALUE_TEXT
    ? `${text.slice(0, MAX_VALUE_TEXT)}…`
    : text;
}

function isoOf(timestamp: string): string {
  const ms = Number(timestamp);
  return Number.isFinite(ms)
    ? new Date(ms).toISOString()
    : new Date(0).toISOString();
}

function stringOr(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}
