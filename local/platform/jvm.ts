import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/**
 * The JVM runs under a small POSIX shell wrapper whose standard input is a pipe from
 * this Node.js process. Node never writes to it. When the pipe closes, because Node
 * stops the server or because Node itself goes away for any reason (normal exit, crash,
 * Ctrl-C, even SIGKILL), the watchdog's `read` sees end-of-file and it stops the JVM:
 * SIGTERM, then SIGKILL after 15 s. So a JVM never outlives the process that started
 * it: no orphan brokers, whatever happens to a test run.
 */
const WATCHDOG = `
exec 3<&0 </dev/null
log=$1; shift
exec 2>>"$log"
"$@" 3<&- >>"$log" 2>&1 &
jvm=$!
echo "$jvm"
(
  while read -r _ <&3; do :; done
  kill -TERM "$jvm" 2>/dev/null
  n=0
  while kill -0 "$jvm" 2>/dev/null && [ "$n" -lt 150 ]; do sleep 0.1; n=$((n + 1)); done
  kill -KILL "$jvm" 2>/dev/null
) >/dev/null 2>&1 &
exec 3<&-
trap 'kill -TERM "$jvm" 2>/dev/null' TERM INT HUP
wait "$jvm"; status=$?
while kill -0 "$jvm" 2>/dev/null; do wait "$jvm"; status=$?; done
exit "$status"
`;

/** How to start one JVM server. */
export interface JvmServerOptions {
  /** For messages, e.g. 'Kafka broker'. */
  readonly name: string;
  readonly java: string;
  readonly jvmArgs: readonly string[];
  readonly classpath: readonly string[];
  readonly mainClass: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** stdout and stderr of the JVM are appended here. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A running JVM server, tied to the life of this Node.js process. */
export interface JvmServer {
  /** The JVM's own process id (not the wrapper's). */
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (null when killed by a signal) once the JVM is gone. */
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
  /** The last lines of the log, for error messages. */
  logTail(lines?: number): string;
  /** Resident memory of the JVM in bytes, from /proc (undefined elsewhere). */
  residentBytes(): number | undefined;
  /** Asks the JVM to stop (SIGTERM), kills it after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a JVM under the watchdog wrapper and returns once its process id is known
 * (readiness is the caller's business: each server has its own notion of ready).
 *
 * @example
 * ```ts
 * const server = await startJvm({ name: 'Kafka broker', java: 'java', jvmArgs: ['-Xmx256m'],
 *   classpath: [`${lib}/*`], mainClass: 'kafka.Kafka', args: ['server.properties'],
 *   cwd: dir, logFile: `${dir}/kafka.log` });
 * await server.stop();
 * ```
 */
export async function startJvm(options: JvmServerOptions): Promise<JvmServer> {
  closeSync(openSync(options.logFile, 'a'));
  const child = spawn(
    'sh',
    [
      '-c',
      WATCHDOG,
      'jvm-watchdog',
      options.logFile,
      options.java,
      ...options.jvmArgs,
      '-cp',
      options.classpath.join(':'),
      options.mainClass,
      ...options.args,
    ],
    {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'inherit'],
      // A process group of its own: Ctrl-C in a terminal reaches Node only, which then
      // shuts down in order (its users first, the servers last).
      detached: true,
    },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  let gone = false;
  void exited.then(() => {
    gone = true;
  });

  const pid = await readPid(child, options.name);
  // Neither the wrapper nor its pipes keep Node's event loop alive: when Node exits,
  // the pipe closes and the watchdog stops the JVM.
  child.unref();
  (child.stdin as Writable & { unref?: () => void }).unref?.();
  (child.stdout as Readable & { unref?: () => void }).unref?.();

  return {
    pid,
    logFile: options.logFile,
    exited,
    hasExited: () => gone,
    logTail: (lines = 20) => tail(options.logFile, lines),
    residentBytes: () => residentBytes(pid),
    async stop(graceMs = 10_000) {
      // Closing the pipe is the stop signal: the watchdog sends SIGTERM.
      child.stdin?.destroy();
      if (gone) return;
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function readPid(child: ChildProcess, name: string): Promise<number> {
  if (!child.stdout)
    throw new Error(`${name}: no stdout pipe from the wrapper`);
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    lines.close();
    const pid = Number(line.trim());
    if (Number.isInteger(pid) && pid > 0) return pid;
    break;
  }
  throw new Error(`${name}: could not start the JVM (sh wrapper failed)`);
}

function tail(file: string, lines: number): string {
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    const fd = openSync(file, 'r');
    readSync(fd, buffer, 0, length, size - length);
    closeSync(fd);
    return buffer
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '';
  }
}

function residentBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
