/**
 * The functions of the orders stack, by group, and the lists the stack derives from
 * them: every function, and the Kafka-fed ones with the topics they read.
 */
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { KafkaConsumerFunction } from '../kafka-consumer-function.ts';
import type { DeadLetterFunctions } from './dead-letter-functions.ts';
import type { OrderFunctions } from './order-functions.ts';

/** Every function of the stack, by name. */
export type StackFunctions = OrderFunctions &
  DeadLetterFunctions & { readonly payment: KafkaConsumerFunction };

/**
 * Every Lambda function of the stack, in the order they are created.
 *
 * @example
 * ```ts
 * for (const fn of everyFunction(functions)) fn.node.addDependency(topics);
 * ```
 */
export function everyFunction(functions: StackFunctions): lambda.Function[] {
  const { orderApi, outboxRelay, orderEvents, payment } = functions;
  const { reprocessor, redrive, admin } = functions;
  return [
    orderApi,
    outboxRelay,
    orderEvents.fn,
    payment.fn,
    reprocessor.fn,
    redrive,
    admin,
  ];
}

/**
 * The functions `functions.reservedConcurrency` may name, with the topics their
 * mappings read (none for the stream and the schedule).
 *
 * @example
 * ```ts
 * concurrencyTargets(functions).get('payment')?.topics;
 * ```
 */
export function concurrencyTargets(
  functions: StackFunctions,
): ReadonlyMap<string, { fn: lambda.Function; topics: readonly string[] }> {
  const { outboxRelay, orderEvents, payment, reprocessor, redrive } = functions;
  return new Map([
    ['order-events', { fn: orderEvents.fn, topics: orderEvents.topics }],
    ['payment', { fn: payment.fn, topics: payment.topics }],
    ['dlq-reprocessor', { fn: reprocessor.fn, topics: reprocessor.topics }],
    ['outbox-relay', { fn: outboxRelay, topics: [] }],
    ['dlq-redrive', { fn: redrive, topics: [] }],
  ]);
}
