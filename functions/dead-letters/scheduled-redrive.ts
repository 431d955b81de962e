/**
 * The scheduled entry point of the dead-letter reprocessor: redrives the SCHEDULED
 * dead letters that have come due ({@link redriveDue}).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { type ReprocessorDependencies, redriveDue } from './use-cases.ts';

/**
 * The scheduled handler: redrives what has come due.
 *
 * @example
 * ```ts
 * const scheduledHandler = createScheduledHandler(deps);
 * ```
 */
export function createScheduledHandler(deps: ReprocessorDependencies) {
  return middy<unknown, { redriven: number; failed: number }>()
    .use(injectLambdaContext(deps.logger))
    .handler(() => redriveDue(deps));
}
