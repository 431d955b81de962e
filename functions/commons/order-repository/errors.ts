/**
 * The failures of the order repository: another writer got there first, or the
 * order's last write is not settled yet. Both transient.
 */
import { TransientError } from '#domain/failures.ts';

/**
 * Another writer changed the order since it was read (or is writing it right now).
 * Re-read and apply the event again; left unhandled, it is transient, so the consumer
 * module retries the record.
 */
export class OrderVersionConflictError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OrderVersionConflictError';
  }
}

/**
 * The order's last write is an API write that may still be voided (docs/outbox.md).
 * Nothing may build on it until it settles; transient, so the record comes again.
 */
export class OrderNotSettledError extends TransientError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OrderNotSettledError';
  }
}
