/**
 * In-memory test doubles of the repositories and the publisher, for unit tests of the
 * handlers' edge logic. Each counts its writes, so a test can tell that a refused
 * request (or a poison record) changed nothing.
 */
import type {
  DeadLetterPage,
  DeadLetterQuery,
  DeadLetterRepository,
  DeadLetterTransition,
} from '#commons/dead-letter-repository.ts';
import {
  DeadLetterNotFoundError,
  DeadLetterStateError,
  InvalidCursorError,
} from '#commons/dead-letter-repository.ts';
import type {
  EventPublisher,
  OutgoingMessage,
} from '#commons/kafka-publisher.ts';
import type {
  OrderRepository,
  StoredOrder,
} from '#commons/order-repository.ts';
import type { DeadLetter, DeadLetterStatus } from '#domain/dead-letter.ts';
import type { DomainEvent, OrderPlaced } from '#domain/events.ts';
import type { Order } from '#domain/order.ts';

/** Orders in a map; `writes` counts every call that changes something. */
export class MemoryOrders implements OrderRepository {
  readonly orders = new Map<
    string,
    { order: Order; events: DomainEvent[]; outbox: DomainEvent[] }
  >();
  writes = 0;

  async create(order: Order, event: OrderPlaced) {
    if (this.orders.has(order.orderId)) return 'exists' as const;
    this.writes += 1;
    this.orders.set(order.orderId, { order, events: [event], outbox: [event] });
    return 'created' as const;
  }

  async get(orderId: string): Promise<StoredOrder | undefined> {
    const found = this.orders.get(orderId);
    if (!found) return undefined;
    return {
      order: found.order,
      appliedEventIds: new Set(found.events.map((e) => e.eventId)),
      outbox: found.outbox,
    };
  }

  async history(orderId: string) {
    return this.orders.get(orderId)?.events;
  }

  async append(
    order: Order,
    event: DomainEvent,
    outbox: readonly DomainEvent[] = [],
  ) {
    const found = this.orders.get(order.orderId);
    if (!found) throw new Error(`no order ${order.orderId}`);
    if (found.events.some((e) => e.eventId === event.eventId)) {
      return 'duplicate' as const;
    }
    this.writes += 1;
    this.orders.set(order.orderId, {
      order,
      events: [...found.events, event],
      outbox: [...outbox],
    });
    return 'appended' as const;
  }

  async clearOutbox(orderId: string) {
    const found = this.orders.get(orderId);
    if (!found || found.outbox.length === 0) return false;
    this.writes += 1;
    found.outbox = [];
    return true;
  }

  /** The store answers every write, so nothing is left to fence. */
  async fence() {
    return 'marked' as const;
  }

  async voidWrite() {
    return 'stands' as const;
  }
}

/** A publisher that keeps what it was given. */
export class MemoryPublisher implements EventPublisher {
  readonly published: DomainEvent[] = [];
  readonly sent: { topic: string; message: OutgoingMessage }[] = [];

  /** Events published plus raw records sent. */
  get writes(): number {
    return this.published.length + this.sent.length;
  }

  async publish(events: readonly DomainEvent[]) {
    this.published.push(...events);
  }

  async send(topic: string, messages: readonly OutgoingMessage[]) {
    for (const message of messages) this.sent.push({ topic, message });
  }

  async disconnect() {}

  async connect() {}
}

/**
 * Dead letters in a map. Cursors are what it hands out (an index); anything else is an
 * {@link InvalidCursorError}, as the DynamoDB repository answers a forged one.
 */
export class MemoryDeadLetters implements DeadLetterRepository {
  readonly letters = new Map<string, DeadLetter>();
  writes = 0;

  constructor(letters: readonly DeadLetter[] = []) {
    for (const letter of letters) this.letters.set(letter.id, letter);
  }

  async save(letter: DeadLetter) {
    if (this.letters.has(letter.id)) return 'exists' as const;
    this.writes += 1;
    this.letters.set(letter.id, letter);
    return 'saved' as const;
  }

  async get(id: string) {
    return this.letters.get(id);
  }

  async list(query: DeadLetterQuery): Promise<DeadLetterPage> {
    const all = [...this.letters.values()].filter(
      (letter) =>
        (query.status === undefined || letter.status === query.status) &&
        (query.topic === undefined || letter.original.topic === query.topic),
    );
    let start = 0;
    if (query.cursor) {
      const match = /^at-(\d+)$/.exec(query.cursor);
      if (!match) throw new InvalidCursorError('not a cursor of this store');
      start = Number(match[1]);
    }
    const end = start + query.limit;
    return {
      items: all.slice(start, end),
      cursor: end < all.length ? `at-${end}` : null,
    };
  }

  async listDue(now: Date, limit: number) {
    return [...this.letters.values()]
      .filter(
        (letter) =>
          letter.status === 'SCHEDULED' &&
          letter.redriveAt !== null &&
          Date.parse(letter.redriveAt) <= now.getTime(),
      )
      .slice(0, limit);
  }

  async transition(
    id: string,
    from: readonly DeadLetterStatus[],
    to: DeadLetterTransition,
  ) {
    const letter = this.letters.get(id);
    if (!letter) throw new DeadLetterNotFoundError(`no dead letter ${id}`);
    if (!from.includes(letter.status)) {
      throw new DeadLetterStateError(
        `dead letter ${id} is ${letter.status}`,
        letter.status,
      );
    }
    this.writes += 1;
    const next: DeadLetter = {
      ...letter,
      status: to.status,
      redriveAt: to.redriveAt ?? null,
      attempt: to.attempt ?? letter.attempt,
      history: [...letter.history, to.action],
    };
    this.letters.set(id, next);
    return next;
  }

  async linkRedrive(from: string, to: string) {
    const letter = this.letters.get(from);
    if (!letter) throw new DeadLetterNotFoundError(`no dead letter ${from}`);
    if (letter.redrivenTo.includes(to)) return;
    this.writes += 1;
    this.letters.set(from, {
      ...letter,
      redrivenTo: [...letter.redrivenTo, to],
    });
  }
}
