/**
 * The publisher port: where events go. Handlers depend on it, never on kafkajs;
 * its kafkajs adapter is `createKafkaPublisher` (../kafka-publisher.ts).
 */
import type { DomainEvent } from '#domain/events.ts';
import type { KafkaUnavailableError } from './errors.ts';

/** A record to send as is: the dead-letter reprocessor redrives bytes, not events. */
export interface OutgoingMessage {
  readonly key: Buffer | string | null;
  readonly value: Buffer | string;
  readonly headers: Readonly<Record<string, string | Buffer>>;
}

/**
 * Where events go. Handlers depend on this port, never on kafkajs, so tests can hand
 * them a fake and the circuit breaker can wrap any implementation.
 *
 * @example
 * ```ts
 * await publisher.publish([orderPlaced]);
 * ```
 */
export interface EventPublisher {
  /** Validates every event, then sends all of them (acks from all in-sync replicas). */
  publish(events: readonly DomainEvent[]): Promise<void>;
  /** Sends raw records to one topic (acks from all in-sync replicas). */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /** Closes the connection; the next call connects again. */
  disconnect(): Promise<void>;
  /**
   * Connects now (reusing the connection when there is one), for readiness checks;
   * rejects with {@link KafkaUnavailableError} when Kafka cannot be reached.
   */
  connect?(): Promise<void>;
  /**
   * Asks a broker for the cluster's metadata: a round trip, so it fails against a
   * broker that accepts connections but does not answer (frozen, overloaded), which
   * `connect` on a kept connection cannot see. Rejects with
   * {@link KafkaUnavailableError}.
   */
  ping?(): Promise<void>;
}
