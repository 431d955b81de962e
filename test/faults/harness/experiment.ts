/**
 * One experiment of the fault suite: its own platform and local system, a warm-up
 * order, load, a fault, recovery and the invariants (docs/fault-suite.md).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import { pollUntil } from '#platform/wait.ts';
import type { FunctionOverrides } from '../../../local/runtime/overrides.ts';
import {
  type LocalSystem,
  type LocalSystemOptions,
  startLocalSystem,
} from '../../../local/runtime/system.ts';
import {
  awaitRecovery,
  checkInvariants,
  type Figures,
  formatFigures,
  readStore,
  type StoreState,
  storeTables,
} from './invariants.ts';
import {
  type LoadOptions,
  type LoadRecord,
  newLoadRecord,
  orderBody,
  runLoad,
  send,
} from './load.ts';
import { type FaultPlatform, startFaultPlatform } from './platform.ts';

/**
 * How long the system may take to come back after a fault before the experiment
 * gives up and reports recovery as `none`. The suite's whole time bound (15 min on 2
 * cores) rests on it. FAULTS_RECOVERY_MS changes it.
 */
export const RECOVERY_MS = Number(process.env.FAULTS_RECOVERY_MS ?? 120_000);

/**
 * The first order through a fresh system: cold sandboxes and consumer groups that
 * join. Seen in the integration suite: 13 s loaded for a first order (PIPELINE_MS).
 */
const WARM_UP_MS = 120_000;

/**
 * Environment overrides and injected faults per function, as `npm run dev -- --env
 * fn:K=V --chaos fn:fail=..,timeout=..` set them (docs/local-faults.md).
 */
export interface ChaosOptions {
  readonly chaos?: FunctionOverrides['chaos'];
  readonly env?: FunctionOverrides['environment'];
}

export interface ExperimentOptions extends ChaosOptions {
  /** Load settings; defaults: 3 clients, 6 orders/s. */
  readonly load?: Partial<Omit<LoadOptions, 'url' | 'run' | 'stop'>>;
}

/** A running experiment. */
export interface Experiment {
  readonly name: string;
  /** Unique prefix of this experiment's order ids. */
  readonly run: string;
  readonly platform: FaultPlatform;
  readonly system: LocalSystem;
  readonly record: LoadRecord;
  /** Every line the system logged. */
  readonly logs: string[];
  /**
   * Runs the load; `during` is called once it runs, and the load stops when it
   * returns. Resolves when every request has its answer.
   */
  withLoad(during: () => Promise<void>): Promise<void>;
  /** Waits until everything acknowledged is final and the lag 0 (ms since `since`). */
  recovery(since: number): Promise<number | undefined>;
  /** Reads the final state, prints the figures line and returns it. */
  figures(recoveryMs: number | undefined): Promise<Figures>;
  /**
   * Stops the system, runs `between` (the system is down), and starts it again on
   * the same platform (a new HTTP port).
   */
  restartSystem(between?: () => Promise<void>): Promise<void>;
  /** The Orders and Payments tables and the dead letters, as they are now. */
  store(): Promise<StoreState>;
  stop(): Promise<void>;
}

/**
 * Starts a platform and the system on it, and sends one order through to PAID so
 * that the fault meets a warm system.
 *
 * @example
 * ```ts
 * const experiment = await startExperiment('broker-kill');
 * await experiment.withLoad(async () => { ... the fault ... });
 * ```
 */
export async function startExperiment(
  name: string,
  options: ExperimentOptions = {},
): Promise<Experiment> {
  const run = `${name}-${randomUUID().slice(0, 6)}`;
  const logs: string[] = [];
  const log = (line: string) =>
    logs.push(`${new Date().toISOString()} ${line}`);
  const platform = await startFaultPlatform(log);
  const record = newLoadRecord();
  const { chaos, env } = options;
  const systemOptions: LocalSystemOptions = {
    port: 0,
    log,
    ...(chaos ? { chaos } : {}),
    ...(env ? { environment: env } : {}),
  };
  let system: LocalSystem;
  try {
    system = await startLocalSystem(platform, systemOptions);
  } catch (error) {
    await platform.stop();
    throw error;
  }
  const endpoints = () => ({
    brokers: platform.kafka.brokers,
    store: storeTables(system.model, platform.dynamodb.endpoint),
  });

  const experiment: Experiment = {
    name,
    run,
    platform,
    get system() {
      return system;
    },
    record,
    logs,
    async withLoad(during) {
      let stop = () => {};
      const stopped = new Promise<void>((resolve) => {
        stop = resolve;
      });
      const load = runLoad(record, {
        url: system.url,
        run,
        clients: 3,
        ratePerSecond: 6,
        ...options.load,
        stop: stopped,
      });
      try {
        await during();
      } finally {
        stop();
        await load;
      }
    },
    recovery: (since) =>
      awaitRecovery(
        record,
        endpoints(),
        system.model.mappings,
        since,
        RECOVERY_MS,
      ),
    async figures(recoveryMs) {
      const figures = await checkInvariants(
        name,
        record,
        system,
        endpoints(),
        recoveryMs,
      );
      const file = join(tmpdir(), `faults-${run}.log`);
      writeFileSync(file, `${logs.join('\n')}\n`);
      console.log(`${formatFigures(figures)}\n[faults]   system log: ${file}`);
      return figures;
    },
    store: () => readStore(endpoints().store),
    async restartSystem(between) {
      await system.stop();
      await between?.();
      system = await startLocalSystem(platform, systemOptions);
    },
    async stop() {
      try {
        await system.stop();
      } finally {
        await platform.stop();
      }
    },
  };

  try {
    await warmUp(experiment);
  } catch (error) {
    await experiment.stop();
    throw error;
  }
  return experiment;
}

async function warmUp(experiment: Experiment): Promise<void> {
  const orderId = `warm-${experiment.run}`;
  const placed = await pollUntil(
    async () => {
      const answer = await send(
        experiment.record,
        `${experiment.system.url}/orders`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(orderBody(orderId)),
        },
      );
      // 201, or 409 when an earlier attempt that the gateway gave up on stored it.
      return answer.status === 201 || answer.status === 409 ? true : undefined;
    },
    WARM_UP_MS,
    1_000,
  );
  const paid = await pollUntil(
    async () =>
      (await experiment.store()).orders.get(orderId)?.status === 'PAID' ||
      undefined,
    WARM_UP_MS,
    500,
  );
  if (!placed || !paid) {
    throw new Error(
      `warm-up order ${orderId} was not ${placed ? 'paid' : 'placed'} within ${WARM_UP_MS / 1000} s: the system does not work before any fault`,
    );
  }
  // The warm-up's own answers are not part of the experiment's figures.
  experiment.record.statuses.clear();
}

/** Holds a fault (or traffic) for a while: a deliberate duration, not a wait. */
export const hold = (ms: number) => delay(ms);

/** A fault: how to start it, how long it lasts, how to end it. */
export interface Fault {
  start(): unknown;
  readonly holdMs: number;
  end(): unknown;
}

/**
 * 8 s of load, the fault, 8 s more load; then waits for recovery from the fault's
 * end, prints the figures and asserts the invariants.
 *
 * @example
 * ```ts
 * await faultUnderLoad(experiment, {
 *   start: () => experiment.platform.store.freeze(),
 *   holdMs: 10_000,
 *   end: () => experiment.platform.store.thaw(),
 * });
 * ```
 */
export async function faultUnderLoad(
  experiment: Experiment,
  fault: Fault,
): Promise<Figures> {
  let faultEnded = 0;
  await experiment.withLoad(async () => {
    await hold(8_000);
    await fault.start();
    await hold(fault.holdMs);
    await fault.end();
    faultEnded = performance.now();
    await hold(8_000);
  });
  const figures = await experiment.figures(
    await experiment.recovery(faultEnded),
  );
  expect(figures.acknowledged).toBeGreaterThan(0);
  assertInvariants(figures);
  return figures;
}

/**
 * The invariants every experiment asserts, each softly so that one run reports every
 * one that fails.
 */
export function assertInvariants(
  figures: Figures,
  options: { recovery?: boolean } = {},
): void {
  expect.soft(figures.lost, 'acknowledged orders never final').toBe(0);
  expect.soft(figures.wrong, 'final orders in the wrong state').toBe(0);
  expect.soft(figures.duplicated, 'orders charged twice').toBe(0);
  expect
    .soft(figures.ghosts, 'effects after a 503, charges without an order')
    .toBe(0);
  expect.soft(figures.serverErrors, '5xx answers other than 503').toBe(0);
  expect
    .soft(figures.lag, 'records neither processed nor dead-lettered')
    .toBe(0);
  if (options.recovery !== false) {
    expect
      .soft(figures.recoveryMs, `recovered within ${RECOVERY_MS / 1000} s`)
      .toBeDefined();
  }
}
