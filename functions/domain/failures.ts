/**
 * Failure classes (docs/domain.md section 7). A handler throws one of these; one
 * place, the Kafka consumer module, maps them to an outcome:
 * - poison: never retried, written to `<topic>.dead-letter`, the batch goes on;
 * - transient: retried (in-process, then by the event source mapping), and after the
 *   ESM's limits it reaches the on-failure destination.
 * Business outcomes (a declined payment) are not failures: they are events.
 */

/** A record that can never be processed: not JSON, fails the schema, unknown type. */
export class PoisonRecordError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PoisonRecordError';
  }
}

/** A failure that may pass: Kafka or the store unavailable, throttling, timeouts. */
export class TransientError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TransientError';
  }
}

export type FailureClass = 'poison' | 'transient';

/**
 * Classifies any error. Unknown errors are transient: retrying a bug costs a few
 * invocations and ends at the dead-letter topic, while calling it poison would drop a
 * record that a fix could have processed.
 *
 * @example
 * ```ts
 * classifyFailure(new PoisonRecordError('not JSON')); // 'poison'
 * ```
 */
export function classifyFailure(error: unknown): FailureClass {
  return error instanceof PoisonRecordError ? 'poison' : 'transient';
}
