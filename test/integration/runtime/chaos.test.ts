/**
 * Injected faults in the local Lambda sandbox (`startLocalLambda`'s `chaos`, behind
 * `npm run dev --chaos`): an injected failure is a function error thrown in the
 * sandbox, an injected timeout is the function's own timeout, and a seed fixes which
 * invocations they strike, in arrival order. Workers only: no broker needed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChaosSettings,
  chaosSequence,
} from '../../../local/runtime/chaos.ts';
import {
  type InvokeResult,
  type LocalLambda,
  startLocalLambda,
} from '../../../local/runtime/lambda.ts';
import type { LocalFunction } from '../../../local/runtime/template.ts';

/** The fixture's `echo` counts the handler's runs per sandbox (fixtures/sandbox.ts). */
interface Echo {
  sandboxId: string;
  count: number;
}

function fixture(timeoutSeconds = 30): LocalFunction {
  return {
    logicalId: 'ChaosFunction',
    name: 'chaotic',
    entry: 'test/integration/runtime/fixtures/sandbox.ts',
    handler: 'echo',
    environment: { AWS_REGION: 'eu-west-1' },
    timeoutSeconds,
    memoryMb: 256,
  };
}

const started: LocalLambda[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((lambda) => lambda.stop()));
});

function start(chaos: ChaosSettings, timeoutSeconds?: number) {
  const lines: string[] = [];
  const lambda = startLocalLambda(fixture(timeoutSeconds), {
    chaos,
    log: (line) => lines.push(line),
  });
  started.push(lambda);
  return { lambda, lines };
}

/** Invokes one at a time, `n` times. */
async function invokeSerially(lambda: LocalLambda, n: number) {
  const results: InvokeResult[] = [];
  for (let i = 0; i < n; i += 1) results.push(await lambda.invoke({ i }));
  return results;
}

const kind = (result: InvokeResult) =>
  result.ok ? 'ok' : result.timedOut ? 'timeout' : 'fail';

/** The first seed whose sequence starts with `pattern` (undefined = no fault). */
function seedStarting(
  settings: Omit<ChaosSettings, 'seed'>,
  pattern: readonly (string | undefined)[],
): number {
  for (let seed = 0; ; seed += 1) {
    const next = chaosSequence({ ...settings, seed });
    if (pattern.every((expected) => next() === expected)) return seed;
  }
}

describe('chaos in the local Lambda sandbox', () => {
  it('fails the invocations its seed picks, before the handler, and keeps the sandbox warm', async () => {
    // Prepare
    const settings = {
      fail: 0.5,
      timeout: 0,
      when: 'before',
      seed: 11,
    } as const;
    const next = chaosSequence(settings);
    const expected = Array.from({ length: 12 }, () => next() ?? 'ok');
    const { lambda, lines } = start(settings);

    // Act
    const results = await invokeSerially(lambda, 12);

    // Assess: exactly the seeded pattern, with both outcomes in it.
    expect(results.map(kind)).toEqual(expected);
    expect(new Set(expected)).toEqual(new Set(['ok', 'fail']));
    for (const result of results.filter((r) => !r.ok)) {
      expect(result).toMatchObject({
        errorType: 'ChaosError',
        errorMessage: expect.stringMatching(
          /^injected chaos \(npm run dev --chaos\): invocation [0-9a-f-]{36} fails before the handler$/,
        ),
        timedOut: false,
      });
    }
    // The handler never ran for a failed invocation: its runs count 1, 2, 3... in one
    // sandbox, like Lambda's after a function error.
    const echoes = results.flatMap((r) => (r.ok ? [r.result as Echo] : []));
    expect(echoes.map((e) => e.count)).toEqual(echoes.map((_, i) => i + 1));
    expect(new Set(echoes.map((e) => e.sandboxId)).size).toBe(1);
    // Logged as the runtime logs a handler's error, and announced. The sandbox's
    // output arrives on its own stream, after the result: wait for it.
    await expect
      .poll(() => lines.some((l) => l.includes('"message":"Invoke Error"')))
      .toBe(true);
    await expect
      .poll(() =>
        lines.some((l) => /^\[chaotic\] chaos: .* fails before/.test(l)),
      )
      .toBe(true);
  });

  it('fails after the handler ran, when asked to', async () => {
    // Prepare: the first invocation fails, the second does not.
    const shares = { fail: 0.5, timeout: 0, when: 'after' } as const;
    const seed = seedStarting(shares, ['fail', undefined]);
    const { lambda } = start({ ...shares, seed });

    // Act
    const [failed, answered] = await invokeSerially(lambda, 2);

    // Assess: the failed invocation's handler ran (its effects happened).
    expect(failed).toMatchObject({ ok: false, errorType: 'ChaosError' });
    expect((answered as { result: Echo }).result.count).toBe(2);
  });

  it('times out as the function itself would: Sandbox.Timedout at its timeout, then a cold start', async () => {
    // Prepare: the first invocation times out, the second does not; a 1 s timeout.
    const shares = { fail: 0, timeout: 0.5, when: 'before' } as const;
    const seed = seedStarting(shares, [undefined, 'timeout', undefined]);
    const { lambda, lines } = start({ ...shares, seed }, 1);

    // Act
    const [warm, timedOut, after] = await invokeSerially(lambda, 3);

    // Assess
    expect(timedOut).toMatchObject({
      ok: false,
      errorType: 'Sandbox.Timedout',
      timedOut: true,
      errorMessage: expect.stringMatching(
        /^RequestId: [0-9a-f-]{36} Error: Task timed out after \d+\.\d{2} seconds$/,
      ),
    });
    // It ran until the timeout (no earlier): the time bound is the requirement.
    expect(timedOut?.durationMs).toBeGreaterThanOrEqual(1_000 - 5);
    expect(lines.some((l) => /Task timed out after/.test(l))).toBe(true);
    expect(
      lines.some((l) =>
        /chaos: \S+ hangs before the handler, until its 1 s timeout/.test(l),
      ),
    ).toBe(true);
    // The timed-out sandbox was terminated: the next invocation is a cold start.
    const before = (warm as { result: Echo }).result;
    const next = after as { result: Echo; initDurationMs?: number };
    expect(next.result.sandboxId).not.toBe(before.sandboxId);
    expect(next.initDurationMs).toBeGreaterThanOrEqual(0);
  });
});
