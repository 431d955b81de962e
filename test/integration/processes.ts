import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pollUntil } from '#platform/wait.ts';

/** True while the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits (with a deadline) until none of the processes runs; true when they are gone. */
export async function allGone(
  pids: readonly number[],
  timeoutMs = 30_000,
): Promise<boolean> {
  const gone = await pollUntil(
    () => (pids.some(isRunning) ? undefined : true),
    timeoutMs,
  );
  return gone === true;
}

/** Process ids of running JVMs (not their shell wrappers) whose command line mentions `text`. */
export function javaProcessesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return comm === 'java' && cmdline.includes(text);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(isRunning);
}

/** A Node.js script of this repository run as a child process, its output collected. */
export interface NodeScript {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the first stdout line matching `pattern`; rejects if the script exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/**
 * Runs a TypeScript entry point of this repository with the Node.js running the tests.
 *
 * @example
 * ```ts
 * const dev = runNodeScript('local/dev.ts', { KAFKA_PORT: '0' });
 * await dev.waitForLine(/Press Ctrl-C/);
 * ```
 */
export function runNodeScript(
  script: string,
  env: NodeJS.ProcessEnv,
  args: readonly string[] = [],
): NodeScript {
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', script, ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on(
    'line',
    (line) => {
      output += `${line}\n`;
      lines.push(line);
      for (const wake of waiters) wake();
    },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
      for (const wake of waiters) wake();
    }),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    child,
    output: () => output,
    exited,
    waitForLine(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no line matching ${pattern} within ${timeoutMs} ms:\n${output}`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          const line = lines.find((l) => pattern.test(l));
          if (line !== undefined || done) {
            waiters.delete(check);
            clearTimeout(timer);
            if (line !== undefined) resolve(line);
            else reject(new Error(`exited before ${pattern}:\n${output}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
