/**
 * The scheduled entry point of the dead-letter reprocessor: redrives the SCHEDULED
 * dead letters that have come due ({@link redriveDue}).
 */
import { edgeHandler } from '#commons/edge-handler.ts';
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
  return edgeHandler<unknown, { redriven: number; failed: number }>(
    { logger: deps.logger },
    () => redriveDue(deps),
  );
}
