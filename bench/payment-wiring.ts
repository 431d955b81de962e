/**
 * The bench-only pieces of the payment function's wiring (./payment-function.ts), in a
 * module without side effects so that the bench's main process can use them too:
 * the knobs that pick a variant and the injected delays.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createDocumentClient } from '#commons/dynamodb.ts';
import type { EventPublisher } from '#commons/kafka-publisher.ts';
import {
  createPaymentRepository,
  type PaymentRepository,
} from '#commons/payment-repository.ts';

/** The sandbox's environment variables that pick a variant. */
export const BENCH_ENV = {
  store: 'BENCH_PAYMENT_STORE',
  delayMs: 'BENCH_INJECTED_DELAY_MS',
} as const;

/** Where the bench function keeps payments. */
export type BenchStore = 'dynamodb' | 'memory';

/**
 * A publisher that waits `delayMs` before each call of `publisher`.
 *
 * @example
 * ```ts
 * const slow = delayedPublisher(publisher, 5);
 * ```
 */
export function delayedPublisher(
  publisher: EventPublisher,
  delayMs: number,
): EventPublisher {
  if (delayMs <= 0) return publisher;
  return {
    async publish(events) {
      await sleep(delayMs);
      return publisher.publish(events);
    },
    async send(topic, messages) {
      await sleep(delayMs);
      return publisher.send(topic, messages);
    },
    disconnect: () => publisher.disconnect(),
  };
}

/**
 * The real payment repository on `table`, each DynamoDB request `delayMs` later;
 * `clientConfig` as `createDocumentClient` takes it (e.g. credentials).
 *
 * @example
 * ```ts
 * const payments = dynamoDbPayments(config.dynamodb, 'Payments', 5);
 * ```
 */
export function dynamoDbPayments(
  config: Parameters<typeof createDocumentClient>[0],
  table: string,
  delayMs: number,
  clientConfig: Parameters<typeof createDocumentClient>[1] = {},
): PaymentRepository {
  const db = createDocumentClient(config, clientConfig);
  if (delayMs > 0) {
    // The document client shares its DynamoDB client's stack.
    db.middlewareStack.add(
      (next) => async (args) => {
        await sleep(delayMs);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'benchInjectedDelay' },
    );
  }
  return createPaymentRepository(db, table);
}
