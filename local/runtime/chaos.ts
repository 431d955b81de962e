/**
 * Injected faults for local functions (`npm run dev --chaos`, docs/local-faults.md):
 * a share of a function's invocations fails, or runs until the function's timeout.
 * The runtime decides per invocation, in the order the invocations arrive, from a
 * seeded generator, so that a seed gives the same faults on every run. Nothing here
 * touches a function's code: the sandbox (./lambda-worker.ts) applies the fault.
 */

/** What chaos does to one invocation. */
export type ChaosFault = 'fail' | 'timeout';

/**
 * Whether the fault strikes before the handler runs (nothing happened) or after it
 * returned (its effects happened, its answer is lost).
 */
export type ChaosMoment = 'before' | 'after';

/** A function's chaos. `fail` + `timeout` is at most 1. */
export interface ChaosSettings {
  /** The share of invocations that throw a {@link ChaosError}, 0 to 1. */
  readonly fail: number;
  /** The share of invocations that run until the function's timeout, 0 to 1. */
  readonly timeout: number;
  readonly when: ChaosMoment;
  /** Seeds the generator: an unsigned 32-bit integer. */
  readonly seed: number;
}

/** The error an injected failure throws inside the sandbox. */
export class ChaosError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChaosError';
  }
}

/**
 * The fault of each invocation in turn: `fail` with probability `fail`, `timeout`
 * with probability `timeout`, otherwise none. The same settings (seed included)
 * give the same sequence.
 *
 * @example
 * ```ts
 * const next = chaosSequence({ fail: 0.2, timeout: 0, when: 'before', seed: 7 });
 * next(); // 'fail' or undefined, the same on every run with seed 7
 * ```
 */
export function chaosSequence(
  settings: ChaosSettings,
): () => ChaosFault | undefined {
  const random = mulberry32(settings.seed);
  return () => {
    const draw = random();
    if (draw < settings.fail) return 'fail';
    if (draw < settings.fail + settings.timeout) return 'timeout';
    return undefined;
  };
}

/**
 * One line for people: what the chaos does, and the seed that repeats it.
 *
 * @example
 * ```ts
 * describeChaos({ fail: 0.2, timeout: 0.05, when: 'before', seed: 7 });
 * // 'fail 20%, time out 5%, before the handler (seed 7)'
 * ```
 */
export function describeChaos(settings: ChaosSettings): string {
  const parts = [
    ...(settings.fail > 0 ? [`fail ${percent(settings.fail)}`] : []),
    ...(settings.timeout > 0 ? [`time out ${percent(settings.timeout)}`] : []),
  ];
  return `${parts.join(', ') || 'nothing'}, ${settings.when} the handler (seed ${settings.seed})`;
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(2))}%`;
}

/**
 * Mulberry32: a small, fast 32-bit generator, plenty for picking invocations (not
 * for anything secret). Returns numbers in [0, 1).
 */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
