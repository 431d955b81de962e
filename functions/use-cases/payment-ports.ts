/**
 * What the payment use cases (charge, refund, orphan refund) share: the ports they
 * take, and the clock that gives their outcome events ids derived from the payment,
 * so a redelivery publishes the very same event (docs/domain.md section 6).
 */
import type { PaymentRepository } from '#commons/payment-repository.ts';
import type { Clock } from '#domain/events.ts';
import { deterministicUuid } from '#domain/ids.ts';
import type { PaymentGateway, PaymentRules } from '#domain/payment.ts';
import type { RetryOptions } from '#domain/retry.ts';

/** What the payment use cases need; the payment handler wires the real ones. */
export interface PaymentPorts {
  readonly payments: PaymentRepository;
  readonly gateway: PaymentGateway;
  readonly rules: PaymentRules;
  readonly clock: Clock;
  /** In-invocation retries of transient gateway failures (time comes from the context). */
  readonly retry: Omit<RetryOptions, 'remainingTimeMs'>;
}

/**
 * A clock whose ids are derived from `parts`: the same event on every retry.
 *
 * @example
 * ```ts
 * const ids = derivedClock(clock, 'PaymentRefunded', orderId);
 * ```
 */
export function derivedClock(clock: Clock, ...parts: string[]): Clock {
  return { now: clock.now, uuid: () => deterministicUuid(...parts) };
}
