/** The payment group of the orders stack: the Kafka handler that charges and refunds. */
import { TOPICS } from '../../functions/domain/events.ts';
import { KafkaConsumerFunction } from '../kafka-consumer-function.ts';
import type { FunctionWiring } from './wiring.ts';

/**
 * payment: charges and refunds (construct id `Payment`).
 *
 * @example
 * ```ts
 * const payment = addPaymentFunction(wiring);
 * ```
 */
export function addPaymentFunction({
  stack,
  config,
  cluster,
  data,
  tables,
  common,
  pollerGroupName,
  subscribe,
}: FunctionWiring): KafkaConsumerFunction {
  const payment = new KafkaConsumerFunction(stack, 'Payment', {
    ...common,
    entry: 'payment.ts',
    description:
      'Charges placed orders; refunds cancelled ones and orphan charges, once',
    environment: { PAYMENTS_TABLE: tables.PAYMENTS_TABLE as string },
    cluster,
    esm: config.esm,
    pollerGroupName,
    subscriptions: subscribe(
      'payment',
      [TOPICS.orderPlaced, TOPICS.orderCancelled, TOPICS.paymentOrphaned],
      'dead-letter-topic',
    ),
  });
  payment.allowProducingTo([
    TOPICS.paymentProcessed,
    TOPICS.paymentFailed,
    TOPICS.paymentRefunded,
  ]);
  data.tables.payments.grantReadWriteData(payment.fn);
  return payment;
}
