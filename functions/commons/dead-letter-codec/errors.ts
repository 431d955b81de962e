/** The one refusal of the dead-letter codec. */
import { PoisonRecordError } from '#domain/failures.ts';

/**
 * A dead letter that is neither of the two known formats; poison, never retried.
 *
 * @example
 * ```ts
 * classifyFailure(new UnreadableDeadLetterError('not JSON')); // 'poison'
 * ```
 */
export class UnreadableDeadLetterError extends PoisonRecordError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnreadableDeadLetterError';
  }
}
