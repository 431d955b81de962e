/**
 * Logging and metrics, with Powertools for AWS Lambda: structured JSON logs (CloudWatch
 * reads them; locally they are one line each) and CloudWatch EMF metrics.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The namespace of every metric of the system. */
export const METRICS_NAMESPACE = 'KafkaOrders';

/**
 * Payment outcomes whose order does not exist, counted by the order function
 * (service `order`) when first seen (docs/domain.md section 8): `charges` moved
 * money and are alarmed; `failures` moved none.
 */
export const ORPHAN_METRICS = {
  charges: 'OrphanCharges',
  failures: 'OrphanPaymentFailures',
} as const;

/**
 * A logger for one function; `POWERTOOLS_LOG_LEVEL` sets the level.
 *
 * @example
 * ```ts
 * const logger = createLogger('payment');
 * logger.info('charged', { orderId });
 * ```
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/**
 * Metrics for one function, flushed by the handler wrappers at the end of each
 * invocation.
 *
 * @example
 * ```ts
 * const metrics = createMetrics('payment');
 * ```
 */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}
