/**
 * How a demo order (or poison record) ended, in one line (docs/local-output.md):
 * the outcome, its reason in words, and the gateway retries read from the payment
 * function's log.
 */
import { GATEWAY_RETRY_MESSAGE } from '#domain/payment.ts';

/** How one demo order (or poison record) ended, for its line. */
export interface DemoOutcome {
  /** `paid`, `card declined`, ... */
  readonly scenario: string;
  /** The order id, or the poison record's key. */
  readonly id: string;
  /** The final status (`PAID`, `PAYMENT_FAILED`, `REFUNDED`, `PARKED`), or the last seen. */
  readonly state: string;
  /** False when the wait ended first: `state` is the last status seen. */
  readonly settled: boolean;
  /** Why it ended so, in words: a payment failure's reason, a cancellation's. */
  readonly reason?: string;
  /** Transient gateway failures retried while charging it. */
  readonly gatewayRetries?: number;
  /** How long it took to settle, or how long it was waited for. */
  readonly tookMs?: number;
  /** Where to look further (a dead letter's route). */
  readonly see?: string;
}

/** The `PaymentFailed` reasons (docs/domain.md section 6), in words. */
const FAILURE_REASONS: Readonly<Record<string, string>> = {
  GATEWAY_DECLINED: 'declined by the gateway',
  FRAUD_SUSPECTED: 'fraud suspected',
  AMOUNT_LIMIT_EXCEEDED: 'over the amount limit',
};

/**
 * The line of one settled demo order.
 *
 * @example
 * ```ts
 * formatOutcome({ scenario: 'flaky gateway', id: 'flaky-4e1f0a-4', state: 'PAID',
 *   settled: true, gatewayRetries: 2, tookMs: 870 });
 * // '[demo] flaky gateway    flaky-4e1f0a-4       PAID            after 2 gateway retries, in 870 ms'
 * ```
 */
export function formatOutcome(outcome: DemoOutcome): string {
  const details: string[] = [];
  if (!outcome.settled) {
    details.push(
      `not settled after ${seconds(outcome.tookMs ?? 0)}: see the function logs above`,
    );
  }
  if (outcome.reason) details.push(outcome.reason);
  const retries = outcome.gatewayRetries ?? 0;
  if (retries > 0) {
    details.push(
      `after ${retries} gateway ${retries === 1 ? 'retry' : 'retries'}`,
    );
  }
  if (outcome.settled && outcome.tookMs !== undefined) {
    details.push(`in ${seconds(outcome.tookMs)}`);
  }
  if (outcome.see) details.push(outcome.see);
  return `[demo] ${outcome.scenario.padEnd(16)} ${outcome.id.padEnd(20)} ${outcome.state.padEnd(15)} ${details.join(', ')}`.trimEnd();
}

/**
 * An order's `statusReason` in words: a payment failure's reason (with its code), or
 * the reason given to the cancel route.
 *
 * @example
 * ```ts
 * describeReason('PAYMENT_FAILED', 'FRAUD_SUSPECTED'); // 'fraud suspected (FRAUD_SUSPECTED)'
 * ```
 */
export function describeReason(
  status: string,
  statusReason: string | null | undefined,
): string | undefined {
  if (!statusReason) return undefined;
  if (status === 'PAYMENT_FAILED') {
    const words = FAILURE_REASONS[statusReason];
    return words ? `${words} (${statusReason})` : statusReason;
  }
  return `cancelled: ${statusReason}`;
}

/**
 * The order id of a payment retry warning (`[payment] {...}`, the function's JSON
 * log line as the local runtime prints it); undefined for any other line.
 *
 * @example
 * ```ts
 * gatewayRetryOf('[payment] {"message":"charge failed transiently: trying again","orderId":"flaky-4"}');
 * // 'flaky-4'
 * ```
 */
export function gatewayRetryOf(line: string): string | undefined {
  if (!line.includes(GATEWAY_RETRY_MESSAGE)) return undefined;
  const json = /^\[[^\]]+\] (\{.*\})$/.exec(line)?.[1];
  if (json === undefined) return undefined;
  try {
    const entry = JSON.parse(json) as { message?: unknown; orderId?: unknown };
    return entry.message === GATEWAY_RETRY_MESSAGE &&
      typeof entry.orderId === 'string'
      ? entry.orderId
      : undefined;
  } catch {
    return undefined;
  }
}

/** The outcome of a step whose first call was refused. */
export function refusedOutcome(
  scenario: string,
  id: string,
  refused: string,
): DemoOutcome {
  return { scenario, id, state: 'refused', settled: true, reason: refused };
}

/** `40 ms` under a second, `1.3 s` from there. */
function seconds(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  return whole < 1000 ? `${whole} ms` : `${(whole / 1000).toFixed(1)} s`;
}
