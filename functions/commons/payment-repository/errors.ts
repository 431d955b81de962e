/**
 * The failures of the payment repository: a step the payment's status does not
 * allow, and a charge still in progress.
 */
import { TransientError } from '#domain/failures.ts';

/** A payment cannot take the requested step from its current status. */
export class PaymentStateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PaymentStateError';
  }
}

/**
 * The order's charge is claimed but has no outcome yet, so it can be neither voided
 * nor refunded now. Transient: once the charge is decided, a retry knows what to do.
 */
export class ChargeInProgressError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChargeInProgressError';
  }
}
