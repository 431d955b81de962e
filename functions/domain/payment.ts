/**
 * Payment rules (docs/domain.md section 6) and a simulated payment gateway. The rules
 * are pure; the gateway keeps only in-memory counters, so tests and demos can make it
 * decline or fail transiently on demand.
 */
import type { Clock, OrderPlaced } from './events.ts';
import { TransientError } from './failures.ts';
import { currencyExponent, type Money, majorUnits } from './money.ts';

/** Configurable payment rules; thresholds are in major units of the order's currency. */
export interface PaymentRules {
  /** A total strictly above this many major units is FRAUD_SUSPECTED. */
  readonly fraudThreshold: number;
  /** A total strictly above this many major units is AMOUNT_LIMIT_EXCEEDED. */
  readonly amountLimit: number;
  /** An orderId starting with this is FRAUD_SUSPECTED (the seeds' test hook). */
  readonly suspiciousOrderIdPrefix: string;
}

/**
 * The rules of the seeds: fraud above 10 000.00, limit above 1 000.00, and any order
 * whose id starts with `suspicious`.
 *
 * @example
 * ```ts
 * evaluatePayment(event.data, DEFAULT_PAYMENT_RULES);
 * ```
 */
export const DEFAULT_PAYMENT_RULES: PaymentRules = {
  fraudThreshold: 10_000,
  amountLimit: 1_000,
  suspiciousOrderIdPrefix: 'suspicious',
};

/** What the rules decide about an order before any gateway is called. */
export type PaymentDecision =
  | { decision: 'charge' }
  | {
      decision: 'reject';
      reason: 'FRAUD_SUSPECTED' | 'AMOUNT_LIMIT_EXCEEDED';
      detail: string;
    };

/**
 * Applies the payment rules to a placed order. Fraud is checked before the limit, so
 * a 20 000.00 order is reported as fraud, not as merely too large.
 *
 * @example
 * ```ts
 * const result = evaluatePayment(event.data, DEFAULT_PAYMENT_RULES);
 * if (result.decision === 'reject') publishFailed(result.reason, result.detail);
 * ```
 */
export function evaluatePayment(
  order: OrderPlaced['data'],
  rules: PaymentRules,
): PaymentDecision {
  const { total, orderId } = order;
  if (orderId.startsWith(rules.suspiciousOrderIdPrefix)) {
    return {
      decision: 'reject',
      reason: 'FRAUD_SUSPECTED',
      detail: `order id starts with '${rules.suspiciousOrderIdPrefix}'`,
    };
  }
  const fraudThreshold = thresholdInMinorUnits(
    rules.fraudThreshold,
    total.currency,
  );
  if (total.amount > fraudThreshold) {
    return {
      decision: 'reject',
      reason: 'FRAUD_SUSPECTED',
      detail: `total ${formatMoney(total)} is above the fraud threshold of ${formatMoney({ amount: fraudThreshold, currency: total.currency })}`,
    };
  }
  const limit = thresholdInMinorUnits(rules.amountLimit, total.currency);
  if (total.amount > limit) {
    return {
      decision: 'reject',
      reason: 'AMOUNT_LIMIT_EXCEEDED',
      detail: `total ${formatMoney(total)} is above the limit of ${formatMoney({ amount: limit, currency: total.currency })}`,
    };
  }
  return { decision: 'charge' };
}

/**
 * A threshold in minor units. A fractional threshold such as 999.99 comes out of the
 * float multiplication as 99999.00000000001; snapping to the nearest integer keeps
 * "strictly above" exact at the boundary.
 */
function thresholdInMinorUnits(major: number, currency: string): number {
  const minor = majorUnits(major, currency);
  const nearest = Math.round(minor);
  return Math.abs(minor - nearest) < 1e-6 ? nearest : minor;
}

/**
 * `1234.50 EUR`, `10000 JPY`: exact, from the integer, without float division. A
 * fractional threshold (999.995 EUR) shows as the smallest amount above it.
 */
function formatMoney(money: Money): string {
  const exponent = currencyExponent(money.currency) ?? 2;
  const minor = Math.ceil(money.amount);
  if (exponent === 0) return `${minor} ${money.currency}`;
  const digits = String(minor).padStart(exponent + 1, '0');
  const whole = digits.slice(0, -exponent);
  const fraction = digits.slice(-exponent);
  return `${whole}.${fraction} ${money.currency}`;
}

/**
 * The message of the payment function's warning when a charge failed transiently and
 * is tried again in the same invocation (with `orderId`, `attempt`, `delayMs`); the
 * local demo counts these per order.
 */
export const GATEWAY_RETRY_MESSAGE = 'charge failed transiently: trying again';

/** The gateway could not be reached or timed out: worth retrying. */
export class GatewayUnavailableError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GatewayUnavailableError';
  }
}

/** A charge of an order's total. */
export interface ChargeRequest {
  readonly orderId: string;
  readonly amount: Money;
}

/** A declined charge is a business outcome (GATEWAY_DECLINED), not an error. */
export type ChargeResult =
  | { outcome: 'approved'; transactionId: string }
  | { outcome: 'declined'; detail: string };

/** A refund of a payment, in full. */
export interface RefundRequest {
  readonly orderId: string;
  readonly paymentId: string;
  readonly amount: Money;
}

/** The gateway's id of a completed refund. */
export interface RefundResult {
  refundId: string;
}

/** What the payment function needs of a gateway; a real one would implement it too. */
export interface PaymentGateway {
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
}

/** How the simulated gateway misbehaves, by orderId prefix or for every call. */
export interface GatewaySettings {
  /** Charges for orders whose id starts with this are declined. */
  readonly declineOrderIdPrefix: string;
  /** Charges for orders whose id starts with this fail transiently at first. */
  readonly transientOrderIdPrefix: string;
  /** How many charge attempts per such order fail before one goes through. */
  readonly transientFailures: number;
  /** Decline every charge (demos). */
  readonly declineAll: boolean;
  /** Every charge and refund fails transiently: the gateway is down (demos). */
  readonly failAll: boolean;
  /**
   * Charges for orders whose id starts with this take {@link slowChargeMs} before the
   * gateway answers: the order stays PENDING that long, so it can be cancelled before
   * it is paid (demos, the README's CANCELLED example).
   */
  readonly slowOrderIdPrefix: string;
  /** How long a `slow*` charge takes. */
  readonly slowChargeMs: number;
}

/**
 * Declines `decline*` orders, fails `flaky*` orders twice, takes 10 s over `slow*`
 * orders, approves the rest.
 *
 * @example
 * ```ts
 * createSimulatedGateway({ ...DEFAULT_GATEWAY_SETTINGS, declineAll: true }, clock);
 * ```
 */
export const DEFAULT_GATEWAY_SETTINGS: GatewaySettings = {
  declineOrderIdPrefix: 'decline',
  transientOrderIdPrefix: 'flaky',
  transientFailures: 2,
  declineAll: false,
  failAll: false,
  slowOrderIdPrefix: 'slow',
  slowChargeMs: 10_000,
};

/**
 * A simulated payment gateway. Its only state is how many charges each `flaky*` order
 * has attempted, kept per instance (in a Lambda: per warm execution environment), so
 * retries inside one invocation and across ESM retries eventually succeed.
 *
 * @example
 * ```ts
 * const gateway = createSimulatedGateway({ transientFailures: 1 }, clock);
 * await gateway.charge({ orderId: 'flaky-1', amount }); // throws GatewayUnavailableError
 * await gateway.charge({ orderId: 'flaky-1', amount }); // { outcome: 'approved', ... }
 * ```
 */
export function createSimulatedGateway(
  settings: Partial<GatewaySettings>,
  clock: Clock,
): PaymentGateway {
  const config: GatewaySettings = { ...DEFAULT_GATEWAY_SETTINGS, ...settings };
  const attempts = new Map<string, number>();

  return {
    async charge({ orderId }) {
      if (config.failAll) {
        throw new GatewayUnavailableError('payment gateway unavailable');
      }
      if (orderId.startsWith(config.transientOrderIdPrefix)) {
        const attempt = (attempts.get(orderId) ?? 0) + 1;
        attempts.set(orderId, attempt);
        if (attempt <= config.transientFailures) {
          throw new GatewayUnavailableError(
            `payment gateway timed out for order ${orderId} (attempt ${attempt} of ${config.transientFailures} simulated failures)`,
          );
        }
      }
      if (orderId.startsWith(config.slowOrderIdPrefix)) {
        await new Promise((resolve) =>
          setTimeout(resolve, config.slowChargeMs),
        );
      }
      if (config.declineAll) {
        return { outcome: 'declined', detail: 'the gateway declines all' };
      }
      if (orderId.startsWith(config.declineOrderIdPrefix)) {
        return {
          outcome: 'declined',
          detail: `card declined for order ${orderId}`,
        };
      }
      return { outcome: 'approved', transactionId: `sim-txn-${clock.uuid()}` };
    },

    async refund() {
      if (config.failAll) {
        throw new GatewayUnavailableError('payment gateway unavailable');
      }
      return { refundId: `sim-refund-${clock.uuid()}` };
    },
  };
}

/** Where the payment of an order stands, as far as a compensation cares. */
export interface PaymentState {
  readonly status: 'CLAIMED' | 'CHARGED' | 'REJECTED' | 'VOIDED';
  /** Absent for VOIDED: no charge was ever claimed. */
  readonly paymentId?: string;
}

/**
 * What a PaymentOrphaned asks of the payment function (docs/domain.md section 6):
 * `refund` the charge; `none` when no money moved; `wait` while the charge is still
 * in flight (transient); `reject` when the event names a payment this function never
 * made (poison: nothing here to refund, an operator should look).
 */
export type OrphanCompensation =
  | { action: 'refund' }
  | { action: 'none'; detail: string }
  | { action: 'wait'; detail: string }
  | { action: 'reject'; detail: string };

/**
 * Decides how to compensate a charge whose order does not exist. Pure: the refund
 * itself is claimed once per order by the payment repository, so a repeated
 * PaymentOrphaned, or one racing a cancellation, refunds at most once.
 *
 * @example
 * ```ts
 * const decision = compensationFor(await payments.getPayment(orderId), event.data);
 * if (decision.action === 'refund') await refundCharge(...);
 * ```
 */
export function compensationFor(
  payment: PaymentState | undefined,
  orphaned: { readonly orderId: string; readonly paymentId: string },
): OrphanCompensation {
  const { orderId, paymentId } = orphaned;
  if (!payment) {
    return {
      action: 'reject',
      detail: `no payment of order ${orderId} was ever claimed here`,
    };
  }
  if (payment.status === 'VOIDED') {
    return {
      action: 'none',
      detail: `order ${orderId} was never charged (VOIDED)`,
    };
  }
  if (payment.paymentId !== paymentId) {
    return {
      action: 'reject',
      detail: `payment ${paymentId} is not the payment of order ${orderId} (${payment.paymentId})`,
    };
  }
  switch (payment.status) {
    case 'CLAIMED':
      return {
        action: 'wait',
        detail: `the charge of order ${orderId} is still in progress`,
      };
    case 'REJECTED':
      return {
        action: 'none',
        detail: `payment ${paymentId} was rejected: no money moved`,
      };
    case 'CHARGED':
      return { action: 'refund' };
  }
}
