/**
 * Experiment 3 (docs/fault-suite.md): DynamoDB Local is frozen with SIGSTOP for
 * 10 s mid-stream, then SIGCONT.
 */
import { afterAll, beforeAll, it } from 'vitest';
import {
  type Experiment,
  faultUnderLoad,
  startExperiment,
} from './harness/experiment.ts';

let experiment: Experiment;
beforeAll(async () => {
  experiment = await startExperiment('store-freeze');
});
afterAll(() => experiment?.stop());

it('loses nothing when DynamoDB freezes for 10 s', async () => {
  await faultUnderLoad(experiment, {
    start: () => experiment.platform.store.freeze(),
    holdMs: 10_000,
    end: () => experiment.platform.store.thaw(),
  });
});
