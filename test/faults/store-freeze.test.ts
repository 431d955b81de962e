/**
 * Experiment 3 (docs/fault-suite.md): DynamoDB Local is frozen with SIGSTOP for
 * 10 s mid-stream, then SIGCONT.
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
  experiment = await startExperiment('store-freeze');
});
afterAll(() => experiment?.stop());

it('loses nothing when DynamoDB freezes for 10 s', async () => {
  let faultEnded = 0;
  await experiment.withLoad(async () => {
    await hold(8_000);
    experiment.platform.store.freeze();
    await hold(10_000);
    experiment.platform.store.thaw();
    faultEnded = performance.now();
    await hold(8_000);
  });
  const figures = await experiment.figures(
    await experiment.recovery(faultEnded),
  );
  expect(figures.acknowledged).toBeGreaterThan(0);
  assertInvariants(figures);
});
