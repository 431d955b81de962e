/**
 * The one wrapper of every entry point (HTTP, Kafka, DynamoDB stream, schedule): middy
 * with Powertools' Lambda context on every log line (`injectLambdaContext`), the
 * metrics flushed at the end of each invocation (`logMetrics`) where the function
 * records metrics, and the error mapping of its edge. An HTTP edge maps errors to
 * problem responses (`httpErrorMapping` of #commons/http.ts); a Kafka or stream edge's
 * core answers a partial-batch response itself (#commons/kafka-consumer.ts, the
 * relay); a schedule's failure is the invocation's.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';

/** What every edge reports through. */
export interface EdgeObservers {
  readonly logger: Logger;
  /** Flushed after each invocation; none for a function that records no metrics. */
  readonly metrics?: Metrics;
}

/**
 * Wraps an entry point's core (parse, call one use case, map) with the logger context,
 * the metrics flush and the middlewares of its edge, in that order.
 *
 * @example
 * ```ts
 * export const handler = edgeHandler({ logger, metrics }, consume);
 * const api = edgeHandler({ logger }, routes, httpErrorMapping({ logger }));
 * ```
 */
export function edgeHandler<Event, Result>(
  observers: EdgeObservers,
  core: (event: Event, context: Context) => Promise<Result>,
  edge: readonly MiddlewareObj<Event, Result>[] = [],
) {
  const handler = middy<Event, Result>().use(
    injectLambdaContext(observers.logger),
  );
  if (observers.metrics) handler.use(logMetrics(observers.metrics));
  for (const middleware of edge) handler.use(middleware);
  return handler.handler(core);
}
