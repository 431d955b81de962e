/**
 * The on-failure destination (docs/aws-kafka-esm.md, On-failure destinations): where
 * the records a mapping gives up on go, one `kafka://` message each, or nowhere
 * (dropped) without a destination.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { LocalMapping } from '../template.ts';
import type { BatchEvents } from './batch-event.ts';
import type { Polled } from './batching.ts';
import { Abandoned, type EsmClock, type StopSignal } from './clock.ts';
import type { EsmMetrics } from './observability.ts';
import { heldKey } from './records/held-records.ts';

/**
 * The mapping names its own source topic as `kafka://` destination: AWS refuses it as
 * a recursion guard (docs/aws-kafka-esm.md, On-failure destinations).
 *
 * @example
 * ```ts
 * err instanceof DestinationIsSourceTopicError;
 * ```
 */
export class DestinationIsSourceTopicError extends Error {
  constructor(topic: string) {
    super(`on-failure destination kafka://${topic} is the source topic`);
    this.name = 'DestinationIsSourceTopicError';
  }
}

/**
 * A destination the local runtime cannot write to (only `kafka://<topic>` exists
 * without AWS).
 *
 * @example
 * ```ts
 * err instanceof UnsupportedDestinationError;
 * ```
 */
export class UnsupportedDestinationError extends Error {
  constructor(destination: string) {
    super(
      `on-failure destination ${destination} is not supported locally (kafka://<topic> only)`,
    );
    this.name = 'UnsupportedDestinationError';
  }
}

/**
 * docs/aws-kafka-esm.md, Gap 11.1: the `kafka://` destination page shows
 * `RetriesExhausted`, the SQS/SNS page `RetryAttemptsExhausted`. We write to a Kafka
 * destination, so we follow its page; the reprocessor's codec accepts both.
 *
 * @example
 * ```ts
 * record.requestContext.condition === RETRIES_EXHAUSTED;
 * ```
 */
export const RETRIES_EXHAUSTED = 'RetriesExhausted';
/**
 * docs/aws-kafka-esm.md, Gap 11.1: undocumented for Kafka; named as for Kinesis.
 *
 * @example
 * ```ts
 * record.requestContext.condition === RECORD_AGE_EXCEEDED;
 * ```
 */
export const RECORD_AGE_EXCEEDED = 'RecordAgeExceeded';
/**
 * docs/aws-kafka-esm.md, Batching and On-failure destinations: a record too large for
 * any invocation; `responseContext` is null.
 *
 * @example
 * ```ts
 * record.requestContext.condition === MAXIMUM_PAYLOAD_SIZE_EXCEEDED;
 * ```
 */
export const MAXIMUM_PAYLOAD_SIZE_EXCEEDED = 'MaximumPayloadSizeExceeded';

/** The `responseContext` of a destination message: the last invocation's answer. */
export interface ResponseContext {
  statusCode: number;
  executedVersion: string;
  functionError?: string;
}

/**
 * The mapping's `kafka://` destination topic, if it has one.
 *
 * @throws {UnsupportedDestinationError} the destination is not `kafka://`.
 * @throws {DestinationIsSourceTopicError} the destination is the source topic.
 */
export function destinationTopic(mapping: LocalMapping): string | undefined {
  const destination = mapping.onFailureDestination;
  if (destination === undefined || destination === '') return undefined;
  if (!destination.startsWith('kafka://')) {
    throw new UnsupportedDestinationError(destination);
  }
  const topic = destination.slice('kafka://'.length);
  if (topic === mapping.topic) throw new DestinationIsSourceTopicError(topic);
  return topic;
}

/** What an {@link OnFailureDestination} works with. */
export interface OnFailureDestinationParts {
  readonly events: BatchEvents;
  readonly functionArn: string;
  readonly metrics: EsmMetrics;
  readonly log: (line: string) => void;
  readonly clock: EsmClock;
  readonly backoffMs: (attempt: number) => number;
  readonly stop: StopSignal;
}

/**
 * A mapping's on-failure destination: a producer to its topic, or none.
 *
 * @example
 * ```ts
 * const destination = new OnFailureDestination(destinationTopic(mapping), parts);
 * await destination.connect(kafka);
 * await destination.giveUp(records, RETRIES_EXHAUSTED, response, requestId);
 * ```
 */
export class OnFailureDestination {
  /** The destination topic; undefined: records given up on are dropped. */
  readonly topic: string | undefined;
  readonly #parts: OnFailureDestinationParts;
  #producer: Producer | undefined;

  constructor(topic: string | undefined, parts: OnFailureDestinationParts) {
    this.topic = topic;
    this.#parts = parts;
  }

  /** Connects the producer (when there is a destination). */
  async connect(kafka: Kafka): Promise<void> {
    if (this.topic === undefined) return;
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await this.#producer.connect();
  }

  async disconnect(): Promise<void> {
    await this.#producer?.disconnect();
  }

  /**
   * docs/aws-kafka-esm.md, On-failure destinations: one destination message per
   * record, key = the original key, value = failure metadata plus a one-record event.
   * docs/aws-kafka-esm.md, Gap 11.4: the original headers are NOT copied onto the
   * message and no header is added: only the value is documented, and the payload
   * already carries the original headers. docs/aws-kafka-esm.md, Gap 11.2:
   * `recordInfo.offset` is the Kafka offset as a string. Without a destination the
   * records are dropped.
   */
  async giveUp(
    records: readonly Polled[],
    condition: string,
    response: ResponseContext | null,
    requestId: string | undefined,
  ): Promise<void> {
    const { metrics, log, stop } = this.#parts;
    const where = records.map((r) => `${r.partition}@${r.offset}`).join(', ');
    if (this.topic === undefined || this.#producer === undefined) {
      metrics.DroppedEventCount += records.length;
      log(`${condition}: dropped ${where} (no on-failure destination)`);
      return;
    }
    const messages = this.#messages(records, condition, response, requestId);
    // A failed write is retried until it succeeds or the mapping stops (then the
    // records stay uncommitted and are redelivered): never lose a record silently.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#producer.send({
          topic: this.topic,
          acks: -1,
          messages,
        });
        metrics.OnFailureDestinationDeliveredEventCount += records.length;
        log(`${condition}: sent ${where} to kafka://${this.topic}`);
        return;
      } catch (error) {
        metrics.OnFailureDestinationDeliveryErrorCount += 1;
        log(`on-failure destination write failed: ${String(error)}`);
        if (stop.requested) throw new Abandoned();
        await stop.race(
          this.#parts.clock.sleep(this.#parts.backoffMs(attempt), 'backoff'),
        );
      }
    }
  }

  /** One destination message per record. */
  #messages(
    records: readonly Polled[],
    condition: string,
    response: ResponseContext | null,
    requestId: string | undefined,
  ): { key: Buffer | null; value: string }[] {
    const { events, clock, functionArn } = this.#parts;
    const now = new Date(clock.now()).toISOString();
    return records.map((r) => {
      const payload = events.event([r]);
      const value = {
        requestContext: {
          requestId: requestId ?? randomUUID(),
          functionArn,
          condition,
          approximateInvokeCount: r.invokeCount,
        },
        responseContext: response,
        version: '1.0',
        timestamp: now,
        KafkaBatchInfo: {
          batchSize: 1,
          eventSourceArn: events.envelope.eventSourceArn,
          bootstrapServers: events.envelope.bootstrapServers,
          payloadSize: Buffer.byteLength(JSON.stringify(payload)),
          recordInfo: {
            offset: String(r.offset),
            timestamp: new Date(r.timestamp).toISOString(),
          },
        },
        payload,
      };
      const original = heldKey(r);
      const key =
        original === null
          ? null
          : Buffer.from(
              original.buffer,
              original.byteOffset,
              original.byteLength,
            );
      return { key, value: JSON.stringify(value) };
    });
  }
}
