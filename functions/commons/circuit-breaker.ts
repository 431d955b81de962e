/**
 * A circuit breaker for the HTTP path's publisher: while Kafka is down, requests fail
 * fast with a Retry-After instead of each waiting out kafkajs's timeouts.
 *
 * Written here (about 60 lines) rather than with opossum: opossum opens on an error
 * percentage over a rolling window driven by timers and `Date.now()`, so its transitions
 * cannot be tested with an injected clock and it does not expose when it will half-open
 * (which Retry-After needs); its published types (@types/opossum 8) also lag the
 * installed opossum 10. The breaker below has no timers at all: state is derived from
 * the clock when asked, which also behaves well across Lambda freezes.
 */
import { TransientError } from '#domain/failures.ts';
import type { EventPublisher } from './kafka-publisher.ts';

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * The breaker is open: the call was not attempted. Transient; the HTTP layer answers
 * 503 with `Retry-After: retryAfterSeconds`.
 *
 * @example
 * ```ts
 * if (error instanceof CircuitOpenError) headers['retry-after'] = `${error.retryAfterSeconds}`;
 * ```
 */
export class CircuitOpenError extends TransientError {
  readonly retryAfterSeconds: number;

  constructor(
    message: string,
    options: ErrorOptions & { retryAfterSeconds: number },
  ) {
    super(message, options);
    this.name = 'CircuitOpenError';
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Options of {@link createPublishBreaker}. */
export interface PublishBreakerOptions {
  /** Consecutive transient failures that open the circuit. Default 3. */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before one trial call. Default 10 000 ms. */
  readonly resetTimeoutMs?: number;
  /** Milliseconds since the epoch; injectable for tests. Default `Date.now`. */
  readonly now?: () => number;
  /** Called on every transition, e.g. to log or count it. */
  readonly onStateChange?: (
    state: CircuitState,
    previous: CircuitState,
  ) => void;
}

/** A publisher guarded by a circuit breaker, with its current state. */
export type BreakingPublisher = EventPublisher & {
  state(): CircuitState;
  /** Seconds until an open circuit lets a trial call through; undefined unless open. */
  retryAfterSeconds(): number | undefined;
  connect(): Promise<void>;
  /** A round trip to Kafka (`ping`, else `connect`), open circuit or not. */
  ping(): Promise<void>;
};

/**
 * Wraps a publisher in a circuit breaker. `failureThreshold` consecutive transient
 * failures ({@link TransientError}, e.g. Kafka unavailable) open it; while open, `publish`
 * and `send` reject at once with {@link CircuitOpenError}. After `resetTimeoutMs` the
 * next call is a trial (half-open; concurrent calls still fail fast): success closes
 * the circuit, a transient failure opens it again. Other errors (an invalid event) say
 * nothing about Kafka and neither count nor reset the count.
 *
 * @example
 * ```ts
 * const publisher = createPublishBreaker(createKafkaPublisher(config.kafka), {
 *   failureThreshold: 3,
 *   resetTimeoutMs: 10_000,
 * });
 * ```
 */
export function createPublishBreaker(
  publisher: EventPublisher,
  options: PublishBreakerOptions = {},
): BreakingPublisher {
  const failureThreshold = Math.max(1, options.failureThreshold ?? 3);
  const resetTimeoutMs = Math.max(0, options.resetTimeoutMs ?? 10_000);
  const now = options.now ?? Date.now;
  let failures = 0;
  let openedAt: number | undefined;
  let trialInFlight = false;
  let reported: CircuitState = 'closed';

  const state = (): CircuitState => {
    if (openedAt === undefined) return 'closed';
    return now() - openedAt >= resetTimeoutMs ? 'half-open' : 'open';
  };
  const report = (): void => {
    const current = state();
    if (current !== reported) {
      const previous = reported;
      reported = current;
      options.onStateChange?.(current, previous);
    }
  };

  const secondsUntilTrial = (): number =>
    Math.max(1, Math.ceil(((openedAt ?? 0) + resetTimeoutMs - now()) / 1000));

  const guard = async (call: () => Promise<void>): Promise<void> => {
    report();
    const current = state();
    if (current === 'open' || (current === 'half-open' && trialInFlight)) {
      throw new CircuitOpenError('Kafka circuit is open: not publishing', {
        retryAfterSeconds: current === 'open' ? secondsUntilTrial() : 1,
      });
    }
    const trial = current === 'half-open';
    if (trial) trialInFlight = true;
    try {
      await call();
      failures = 0;
      openedAt = undefined;
    } catch (error) {
      if (error instanceof TransientError) {
        failures += 1;
        if (trial || failures >= failureThreshold) openedAt = now();
      }
      throw error;
    } finally {
      if (trial) trialInFlight = false;
      report();
    }
  };

  return {
    publish: (events) => guard(() => publisher.publish(events)),
    send: (topic, messages) => guard(() => publisher.send(topic, messages)),
    disconnect: () => publisher.disconnect(),
    // Readiness probes go to Kafka itself, open circuit or not.
    connect: async () => {
      await publisher.connect?.();
    },
    ping: async () => {
      await (publisher.ping ?? publisher.connect)?.call(publisher);
    },
    state,
    retryAfterSeconds: () =>
      state() === 'open' ? secondsUntilTrial() : undefined,
  };
}
