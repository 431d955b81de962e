/**
 * The failures of the Kafka publisher: Kafka could not take the records, an event
 * broke the contract, or MSK named no bootstrap brokers.
 */
import { TransientError } from '#domain/failures.ts';

/**
 * Kafka could not take the records (connect, discovery, auth or send failed). Transient:
 * the HTTP path answers 503 and the consumers let the event source mapping retry.
 *
 * @example
 * ```ts
 * if (error instanceof KafkaUnavailableError) return serviceUnavailable();
 * ```
 */
export class KafkaUnavailableError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KafkaUnavailableError';
  }
}

/**
 * An event broke the contract, so nothing was sent. A bug in the producer, not an
 * outage: it does not count toward opening the circuit breaker.
 *
 * @example
 * ```ts
 * await expect(publisher.publish([broken])).rejects.toThrow(InvalidEventError);
 * ```
 */
export class InvalidEventError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidEventError';
  }
}

/**
 * The MSK cluster has no bootstrap broker string for the configured auth (e.g. IAM auth
 * is not enabled on it).
 *
 * @example
 * ```ts
 * throw new BootstrapBrokersNotFoundError('no BootstrapBrokerStringSaslIam');
 * ```
 */
export class BootstrapBrokersNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BootstrapBrokersNotFoundError';
  }
}
