/**
 * What the publisher sends: each domain event validated and made a Kafka message
 * on its topic (key the orderId, headers of docs/domain.md), and raw records
 * passed on as they are.
 */
import type { Message } from 'kafkajs';
import {
  CONTENT_TYPE_JSON,
  DomainEvent,
  HEADERS,
  TOPIC_OF,
} from '#domain/events.ts';
import { InvalidEventError } from './errors.ts';
import type { OutgoingMessage } from './event-publisher.ts';

/**
 * The messages of `events`, by topic, in the events' order; an
 * {@link InvalidEventError} for the first event that breaks the contract, so
 * nothing is sent.
 */
export function eventMessagesByTopic(
  events: readonly DomainEvent[],
): Map<string, Message[]> {
  const byTopic = new Map<string, Message[]>();
  for (const event of events) {
    const parsed = DomainEvent.safeParse(event);
    if (!parsed.success) {
      throw new InvalidEventError(
        `refusing to publish an invalid ${String(event?.eventType)} event: ${parsed.error.message}`,
        { cause: parsed.error },
      );
    }
    const valid = parsed.data;
    const topic = TOPIC_OF[valid.eventType];
    const messages = byTopic.get(topic) ?? [];
    messages.push({
      key: valid.data.orderId,
      value: JSON.stringify(valid),
      headers: {
        [HEADERS.eventType]: valid.eventType,
        [HEADERS.correlationId]: valid.correlationId,
        [HEADERS.contentType]: CONTENT_TYPE_JSON,
      },
    });
    byTopic.set(topic, messages);
  }
  return byTopic;
}

/** A raw record as kafkajs takes it. */
export function toKafkaMessage(message: OutgoingMessage): Message {
  return {
    key: message.key,
    value: message.value,
    headers: { ...message.headers },
  };
}
