/**
 * Experiment 7 (docs/fault-suite.md): the payment and order-events functions fail a
 * share of their invocations through the local runtime's chaos switches
 * (docs/local-faults.md): payment before its handler runs, order-events after (its
 * work done, its answer lost, so the batch comes again). Timeouts are left to the
 * runtime's own tests: each holds a sandbox for the function's whole timeout (60 s).
 * The experiment checks that the chaos took effect, so it cannot pass on a runtime
 * that ignores it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  assertInvariants,
  type Experiment,
  hold,
  startExperiment,
} from './harness/experiment.ts';

let experiment: Experiment | undefined;
beforeAll(async () => {
  experiment = await startExperiment('function-chaos', {
    chaos: {
      payment: { fail: 0.25, timeout: 0, when: 'before', seed: 7 },
      'order-events': { fail: 0.25, timeout: 0, when: 'after', seed: 11 },
    },
  });
});
afterAll(() => experiment?.stop());

it('loses nothing when functions fail or time out on a share of invocations', async () => {
  const running = experiment as Experiment;
  let chaosEnded = 0;
  await running.withLoad(async () => {
    await hold(30_000);
    chaosEnded = performance.now();
  });
  // The functions keep failing after the load: recovery is the retries and
  // redrives working through it.
  const figures = await running.figures(await running.recovery(chaosEnded));
  const failures = running.logs.filter((line) =>
    /injected chaos/.test(line),
  ).length;
  console.log(`[faults] function-chaos: failed invocations=${failures}`);
  expect(failures, 'the chaos took effect').toBeGreaterThan(0);
  expect(figures.acknowledged).toBeGreaterThan(0);
  assertInvariants(figures);
});
