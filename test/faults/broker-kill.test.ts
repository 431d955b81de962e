/**
 * Experiment 1 (docs/fault-suite.md): the broker is killed with SIGKILL mid-stream
 * and started again 10 s later on the same log dir and port. The restarted broker
 * answers only once its controller lets the killed broker's session expire (60 s,
 * local/platform/kafka.ts), so the outage is about 75 s.
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
  experiment = await startExperiment('broker-kill');
});
afterAll(() => experiment?.stop());

it('loses nothing when the broker is killed and restarted on its log dir', async () => {
  let faultEnded = 0;
  await experiment.withLoad(async () => {
    await hold(8_000);
    await experiment.platform.broker.kill();
    await hold(10_000);
    await experiment.platform.broker.restart();
    faultEnded = performance.now();
    await hold(8_000);
  });
  const figures = await experiment.figures(
    await experiment.recovery(faultEnded),
  );
  expect(figures.acknowledged).toBeGreaterThan(0);
  assertInvariants(figures);
});
