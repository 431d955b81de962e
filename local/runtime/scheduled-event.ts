/**
 * The event EventBridge sends a function for a scheduled rule: what the local
 * runtime's schedules invoke with, and what `npm run event -- schedule` prints.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html
 */
import { randomUUID } from 'node:crypto';

/** The event of a `rate(...)` rule (a "Scheduled Event"). */
export interface ScheduledEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': 'Scheduled Event';
  readonly source: 'aws.events';
  readonly account: string;
  /** ISO 8601 without milliseconds, as EventBridge writes it. */
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, never>;
}

/**
 * A scheduled event for now (or `now`), with a fresh id.
 *
 * @example
 * ```ts
 * await lambda.invoke(scheduledEvent());
 * ```
 */
export function scheduledEvent(now: Date = new Date()): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:000000000000:rule/local'],
    detail: {},
  };
}
