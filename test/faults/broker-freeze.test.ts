/**
 * Experiment 2 (docs/fault-suite.md): the broker is frozen with SIGSTOP for 20 s
 * mid-stream (it holds its connections open and answers nothing), then SIGCONT.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  assertInvariants,
  type Experiment,
  hold,
  startExperiment,
} from './harness/experiment.ts';

let experiment: Experiment;
beforeAll(async () => {
  experiment = await startExperiment('broker-freeze');
});
afterAll(() => experiment?.stop());

it('loses nothing when the broker freezes for 20 s', async () => {
  let faultEnded = 0;
  await experiment.withLoad(async () => {
    await hold(8_000);
    experiment.platform.broker.freeze();
    await hold(20_000);
    experiment.platform.broker.thaw();
    faultEnded = performance.now();
    await hold(8_000);
  });
  const figures = await experiment.figures(
    await experiment.recovery(faultEnded),
  );
  expect(figures.acknowledged).toBeGreaterThan(0);
  assertInvariants(figures);
});
