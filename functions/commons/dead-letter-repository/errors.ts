/** The refusals of the dead-letter repository, one class per failure. */
import type { DeadLetterStatus } from '#domain/dead-letter.ts';

/** The letter is not in a status that allows the transition (e.g. redriving a DISCARDED one). */
export class DeadLetterStateError extends Error {
  readonly current: DeadLetterStatus;
  constructor(
    message: string,
    current: DeadLetterStatus,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'DeadLetterStateError';
    this.current = current;
  }
}

/** No dead letter has this id. */
export class DeadLetterNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeadLetterNotFoundError';
  }
}

/** A list cursor that this repository did not hand out (or for another filter). */
export class InvalidCursorError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidCursorError';
  }
}
