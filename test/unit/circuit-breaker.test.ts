import { describe, expect, it } from 'vitest';
import {
  CircuitOpenError,
  type CircuitState,
  createPublishBreaker,
} from '#commons/circuit-breaker.ts';
import {
  type EventPublisher,
  InvalidEventError,
  KafkaUnavailableError,
} from '#commons/kafka-publisher.ts';

/** A publisher that fails with the scripted errors, then succeeds; counts its calls. */
function scriptedPublisher() {
  const outcomes: Error[] = [];
  let calls = 0;
  const next = async (): Promise<void> => {
    calls += 1;
    const outcome = outcomes.shift();
    if (outcome) throw outcome;
  };
  const publisher: EventPublisher = {
    publish: next,
    send: next,
    disconnect: async () => {},
  };
  return {
    publisher,
    failWith: (...errors: Error[]) => outcomes.push(...errors),
    calls: () => calls,
    hold: () => {
      // The next call waits until the test releases it: a trial still in flight.
      let resolve: () => void = () => {};
      const gate = new Promise<void>((r) => {
        resolve = r;
      });
      publisher.publish = async () => {
        calls += 1;
        await gate;
      };
      return resolve;
    },
  };
}

const unavailable = () => new KafkaUnavailableError('broker down');

describe('createPublishBreaker', () => {
  it('opens after the threshold of consecutive transient failures and then fails fast', async () => {
    // Prepare
    let clock = 1_000_000;
    const fake = scriptedPublisher();
    const breaker = createPublishBreaker(fake.publisher, {
      failureThreshold: 3,
      resetTimeoutMs: 10_000,
      now: () => clock,
    });
    fake.failWith(unavailable(), unavailable(), unavailable());

    // Act
    for (let i = 0; i < 2; i++) {
      await expect(breaker.publish([])).rejects.toThrow(KafkaUnavailableError);
    }
    const beforeThreshold = breaker.state();
    await expect(breaker.publish([])).rejects.toThrow(KafkaUnavailableError);
    clock += 2_500;
    const fastFailure = await breaker.publish([]).catch((e: unknown) => e);

    // Assess
    expect(beforeThreshold).toBe('closed');
    expect(breaker.state()).toBe('open');
    expect(fastFailure).toBeInstanceOf(CircuitOpenError);
    expect((fastFailure as CircuitOpenError).retryAfterSeconds).toBe(8);
    expect(fake.calls()).toBe(3);
    await expect(breaker.send('t', [])).rejects.toThrow(CircuitOpenError);
    expect(fake.calls()).toBe(3);
  });

  it('a success in between resets the count', async () => {
    // Prepare
    const fake = scriptedPublisher();
    const breaker = createPublishBreaker(fake.publisher, {
      failureThreshold: 2,
      now: () => 0,
    });

    // Act
    fake.failWith(unavailable());
    await expect(breaker.publish([])).rejects.toThrow(KafkaUnavailableError);
    await breaker.publish([]);
    fake.failWith(unavailable());
    await expect(breaker.publish([])).rejects.toThrow(KafkaUnavailableError);

    // Assess
    expect(breaker.state()).toBe('closed');
  });

  it('does not count non-transient failures', async () => {
    // Prepare
    const fake = scriptedPublisher();
    const breaker = createPublishBreaker(fake.publisher, {
      failureThreshold: 1,
      now: () => 0,
    });
    fake.failWith(new InvalidEventError('bad event'));

    // Act
    await expect(breaker.publish([])).rejects.toThrow(InvalidEventError);

    // Assess
    expect(breaker.state()).toBe('closed');
  });

  it('half-opens after the reset timeout: a good trial closes, a bad one re-opens', async () => {
    // Prepare
    let clock = 0;
    const changes: [CircuitState, CircuitState][] = [];
    const fake = scriptedPublisher();
    const breaker = createPublishBreaker(fake.publisher, {
      failureThreshold: 1,
      resetTimeoutMs: 5_000,
      now: () => clock,
      onStateChange: (state, previous) => changes.push([state, previous]),
    });
    fake.failWith(unavailable());
    await expect(breaker.publish([])).rejects.toThrow(KafkaUnavailableError);

    // Act: the trial fails, the circuit opens again for a full reset timeout.
    clock = 5_000;
    const halfOpen = breaker.state();
    fake.failWith(unavailable());
    await expect(breaker.publish([])).rejects.toThrow(KafkaUnavailableError);
    const afterBadTrial = breaker.state();
    clock = 9_999;
    const stillOpen = await breaker.publish([]).catch((e: unknown) => e);
    clock = 10_000;
    await breaker.publish([]);

    // Assess
    expect(halfOpen).toBe('half-open');
    expect(afterBadTrial).toBe('open');
    expect(stillOpen).toBeInstanceOf(CircuitOpenError);
    expect((stillOpen as CircuitOpenError).retryAfterSeconds).toBe(1);
    expect(breaker.state()).toBe('closed');
    expect(changes).toEqual([
      ['open', 'closed'],
      ['half-open', 'open'],
      ['open', 'half-open'],
      ['half-open', 'open'],
      ['closed', 'half-open'],
    ]);
  });

  it('lets one trial through while half-open; concurrent calls fail fast', async () => {
    // Prepare
    let clock = 0;
    const fake = scriptedPublisher();
    const breaker = createPublishBreaker(fake.publisher, {
      failureThreshold: 1,
      resetTimeoutMs: 1_000,
      now: () => clock,
    });
    fake.failWith(unavailable());
    await expect(breaker.publish([])).rejects.toThrow(KafkaUnavailableError);
    clock = 1_000;
    const release = fake.hold();

    // Act
    const trial = breaker.publish([]);
    const concurrent = await breaker.publish([]).catch((e: unknown) => e);
    release();
    await trial;

    // Assess
    expect(concurrent).toBeInstanceOf(CircuitOpenError);
    expect(fake.calls()).toBe(2);
    expect(breaker.state()).toBe('closed');
  });
});

describe('createPublishBreaker for readiness', () => {
  it('says how long an open circuit stays open, and nothing while closed', async () => {
    // Prepare
    let clock = 1_000_000;
    const fake = scriptedPublisher();
    const breaker = createPublishBreaker(fake.publisher, {
      failureThreshold: 1,
      resetTimeoutMs: 10_000,
      now: () => clock,
    });
    const whileClosed = breaker.retryAfterSeconds();
    fake.failWith(unavailable());

    // Act
    await breaker.publish([]).catch(() => {});
    clock += 4_200;
    const whileOpen = breaker.retryAfterSeconds();
    clock += 6_000;
    const whenHalfOpen = breaker.retryAfterSeconds();

    // Assess
    expect(whileClosed).toBeUndefined();
    expect(whileOpen).toBe(6);
    expect(whenHalfOpen).toBeUndefined();
  });

  it('pings Kafka through an open circuit: the probe is how readiness sees it back', async () => {
    // Prepare
    const fake = scriptedPublisher();
    let pings = 0;
    fake.publisher.ping = async () => {
      pings += 1;
    };
    const breaker = createPublishBreaker(fake.publisher, {
      failureThreshold: 1,
    });
    fake.failWith(unavailable());
    await breaker.publish([]).catch(() => {});

    // Act
    await breaker.ping();

    // Assess
    expect(breaker.state()).toBe('open');
    expect(pings).toBe(1);
  });
});
