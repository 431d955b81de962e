/**
 * CPU time by thread of this process, from /proc (Linux): which thread a
 * benchmark's CPU went to, e.g. a consumer's thread or V8's GC helpers.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** V8's helper threads (concurrent marking, parallel scavenges) are named so. */
export const GC_THREAD = 'V8Worker';
/** Linux counts thread CPU in clock ticks of 1/100 s (USER_HZ). */
const MICROSECONDS_PER_TICK = 10_000;

/** The main thread, in {@link cpuByThread}. */
export const MAIN_THREAD = 'main';

/**
 * CPU time of this process' threads, in microseconds, summed by thread name (a
 * worker's thread is named after its `name` option; the main thread is
 * {@link MAIN_THREAD}): from /proc, so empty where there is none.
 */
export function cpuByThread(): Map<string, number> {
  const byName = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return byName;
  }
  for (const task of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
    } catch {
      continue; // The thread ended meanwhile.
    }
    // proc_pid_stat(5): `tid (name) state …`, utime and stime 12th and 13th after the name.
    const close = stat.lastIndexOf(')');
    const name =
      task === String(process.pid)
        ? MAIN_THREAD
        : stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    byName.set(name, (byName.get(name) ?? 0) + ticks * MICROSECONDS_PER_TICK);
  }
  return byName;
}

/**
 * The CPU time thread(s) `name` used between two readings of {@link cpuByThread},
 * divided by `count`: NaN when the later reading does not have them.
 */
export function cpuPer(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  name: string,
  count: number,
): number {
  const now = after.get(name);
  if (now === undefined) return Number.NaN;
  return (now - (before.get(name) ?? 0)) / count;
}
