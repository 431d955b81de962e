/**
 * Time as the mapping sees it: an injectable clock for the batching window and the
 * backoff between retries, and the stop that cuts those waits short.
 */

/**
 * Time as the mapping sees it, injectable so that tests never wait on real time.
 * `sleep` is used for the batching window and for the backoff between retries.
 *
 * @example
 * ```ts
 * const clock: EsmClock = { now: () => Date.now(), sleep: async () => {} };
 * ```
 */
export interface EsmClock {
  now(): number;
  sleep(ms: number, reason: 'window' | 'backoff'): Promise<void>;
}

/**
 * The mapping's stop as its parts see it: a flag they check between steps, and the
 * waits it cuts short.
 *
 * @example
 * ```ts
 * await stop.race(clock.sleep(100, 'backoff')); // at once when stop.request() is called
 * ```
 */
export class StopSignal {
  #requested = false;
  readonly #signal = Promise.withResolvers<void>();

  /** Stop was asked for: start nothing new. */
  get requested(): boolean {
    return this.#requested;
  }

  request(): void {
    this.#requested = true;
    this.#signal.resolve();
  }

  /** Waits for `wait`, or less if stop is (or has been) requested. */
  race(wait: Promise<void>): Promise<void> {
    return Promise.race([wait, this.#signal.promise]);
  }
}

/** Stop was requested while a batch still had work: leave it uncommitted. */
export class Abandoned extends Error {
  constructor() {
    super('stopping: batch abandoned, left uncommitted');
    this.name = 'Abandoned';
  }
}
