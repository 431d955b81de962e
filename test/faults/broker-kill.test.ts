/**
 * Experiment 1 (docs/fault-suite.md): the broker is killed with SIGKILL mid-stream
 * and started again 10 s later on the same log dir and port. The restarted broker
 * answers only once its controller lets the killed broker's session expire (60 s,
 * local/platform/kafka.ts), so the outage is about 75 s.
 */
import { afterAll, beforeAll, it } from 'vitest';
import {
  type Experiment,
  faultUnderLoad,
  startExperiment,
} from './harness/experiment.ts';

let experiment: Experiment;
beforeAll(async () => {
  experiment = await startExperiment('broker-kill');
});
afterAll(() => experiment?.stop());

it('loses nothing when the broker is killed and restarted on its log dir', async () => {
  await faultUnderLoad(experiment, {
    start: () => experiment.platform.broker.kill(),
    holdMs: 10_000,
    end: () => experiment.platform.broker.restart(),
  });
});
