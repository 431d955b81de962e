/** Arrivals of keyed records, awaited by key with a deadline (a benchmark's observer). */

/** Resolves when `key` is seen; a record seen before it is asked for is kept. */
export class Arrivals<T> {
  readonly #deadlineMs: number;
  readonly #seen = new Map<string, T>();
  readonly #waiting = new Map<string, (value: T) => void>();

  /** @param deadlineMs how long `wait` waits for a key before it rejects */
  constructor(deadlineMs: number) {
    this.#deadlineMs = deadlineMs;
  }

  arrive(key: string, value: T): void {
    const waiter = this.#waiting.get(key);
    if (waiter) {
      this.#waiting.delete(key);
      waiter(value);
    } else this.#seen.set(key, value);
  }

  wait(key: string): Promise<T> {
    const seen = this.#seen.get(key);
    if (seen !== undefined) {
      this.#seen.delete(key);
      return Promise.resolve(seen);
    }
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const timer = setTimeout(() => {
      this.#waiting.delete(key);
      reject(new Error(`${key} not seen within ${this.#deadlineMs} ms`));
    }, this.#deadlineMs);
    this.#waiting.set(key, (value) => {
      clearTimeout(timer);
      resolve(value);
    });
    return promise;
  }
}
