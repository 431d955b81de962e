/**
 * Experiment 2 (docs/fault-suite.md): the broker is frozen with SIGSTOP for 20 s
 * mid-stream (it holds its connections open and answers nothing), then SIGCONT.
 */
import { afterAll, beforeAll, it } from 'vitest';
import {
  type Experiment,
  faultUnderLoad,
  startExperiment,
} from './harness/experiment.ts';

let experiment: Experiment;
beforeAll(async () => {
  experiment = await startExperiment('broker-freeze');
});
afterAll(() => experiment?.stop());

it('loses nothing when the broker freezes for 20 s', async () => {
  await faultUnderLoad(experiment, {
    start: () => experiment.platform.broker.freeze(),
    holdMs: 20_000,
    end: () => experiment.platform.broker.thaw(),
  });
});
