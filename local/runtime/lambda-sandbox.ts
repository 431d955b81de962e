/**
 * A function's sandbox: a worker thread running one copy of the function
 * (./lambda-worker.ts), with the function's environment and memory, its cold start
 * and each invocation bounded by their timeouts, its output forwarded to the log.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { transferList } from './esm/records/packed-records.ts';
import type {
  FailureMessage,
  InvokeMessage,
  SandboxData,
  SandboxInspector,
  SandboxMessage,
} from './lambda-worker.ts';
import { type LocalFunction, localFunctionArn } from './template.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const WORKER = new URL('./lambda-worker.ts', import.meta.url);
/** Lambda gives the init phase of an on-demand function 10 s of its own. */
export const INIT_TIMEOUT_MS = 10_000;
/**
 * How long a sandbox may take to close its inspector before it is terminated anyway
 * (one paused at a breakpoint never answers).
 */
const INSPECTOR_CLOSE_MS = 2_000;
/**
 * kafkajs schedules negative timeouts; `npm run dev` silences that warning with a
 * flag. A worker inherits `execArgv` but not `NODE_OPTIONS` (checked), so the flag
 * is passed explicitly.
 */
const QUIET_TIMEOUTS = '--disable-warning=TimeoutNegativeWarning';

/**
 * `execArgv` for a worker thread of the runtime: this process's, with kafkajs'
 * negative-timeout warning silenced.
 *
 * @example
 * ```ts
 * new Worker(url, { execArgv: workerExecArgv() });
 * ```
 */
export function workerExecArgv(): string[] {
  return process.execArgv.includes(QUIET_TIMEOUTS)
    ? process.execArgv
    : [...process.execArgv, QUIET_TIMEOUTS];
}

/**
 * The name of a function's sandbox threads, as the OS shows it (Linux keeps 15
 * characters).
 *
 * @example
 * ```ts
 * sandboxThreadName('orders-api'); // 'lambda:orders-api'
 * ```
 */
export function sandboxThreadName(functionName: string): string {
  return `lambda:${functionName}`;
}

/** How a sandbox's init or one invocation ended. */
export type Outcome =
  | { readonly kind: 'result'; readonly result: unknown }
  | ({ readonly kind: 'error' | 'init-error' | 'crash' } & FailureMessage)
  | { readonly kind: 'timeout' };

/**
 * A worker thread running one copy of the function. Its `process.env` is the
 * function's environment only, like a Lambda sandbox; its heap is capped at the
 * function's memory size.
 */
export class Sandbox {
  /** Resolves once the module loaded (`result`), or with why it did not. */
  readonly ready: Promise<Outcome>;
  initialized = false;
  alive = true;

  readonly #worker: Worker;
  #settleInit: (outcome: Outcome) => void = () => {};
  #settleRun: ((outcome: Outcome) => void) | undefined;
  #crash: FailureMessage | undefined;
  #inspectorClosed: () => void = () => {};

  /** A debugger may pause this sandbox: no timeouts. */
  readonly #debuggable: boolean;

  constructor(
    fn: LocalFunction,
    log: (line: string) => void,
    inspect?: SandboxInspector,
  ) {
    this.#debuggable = inspect !== undefined;
    this.#worker = startWorker(fn, inspect);
    forwardLines(this.#worker.stdout, log);
    forwardLines(this.#worker.stderr, log);

    this.ready = new Promise<Outcome>((resolve) => {
      this.#settleInit = (outcome) => {
        this.#settleInit = () => {};
        clearTimeout(initTimer);
        this.initialized = true;
        resolve(outcome);
      };
    });
    const initTimer = this.#debuggable
      ? undefined
      : setTimeout(() => {
          this.#settleInit({ kind: 'timeout' });
        }, INIT_TIMEOUT_MS);

    this.#worker.on('message', (message: SandboxMessage) => {
      this.#onMessage(message, log, inspect);
    });
    this.#worker.on('error', (error) => {
      this.#onError(error, log);
    });
    this.#worker.on('exit', (exitCode) => {
      this.alive = false;
      const crash = this.#crash ?? {
        errorType: 'Runtime.ExitError',
        errorMessage: `exit code ${exitCode}`,
      };
      this.#settleInit({ kind: 'init-error', ...crash });
      this.#settle({ kind: 'crash', ...crash });
    });
  }

  /** A message from the sandbox: its init, an invocation's end, its inspector. */
  #onMessage(
    message: SandboxMessage,
    log: (line: string) => void,
    inspect: SandboxInspector | undefined,
  ): void {
    switch (message.type) {
      case 'ready':
        this.#settleInit({ kind: 'result', result: undefined });
        break;
      case 'inspector-closed':
        this.#inspectorClosed();
        break;
      case 'inspector':
        log(
          `debugger listening on ${message.url} (port ${new URL(message.url).port}; ${inspect?.wait === 'none' ? 'running' : 'waiting for a debugger to attach'}; timeouts are off: docs/local-debugging.md)`,
        );
        break;
      case 'init-error':
        this.#settleInit({ ...message, kind: 'init-error' });
        break;
      case 'result':
        this.#settle({
          kind: 'result',
          result: JSON.parse(message.resultJson) as unknown,
        });
        break;
      case 'error':
        this.#settle({ ...message, kind: 'error' });
        break;
    }
  }

  #onError(error: Error, log: (line: string) => void): void {
    // An uncaught exception or an out-of-memory: the sandbox is gone. Marked now, not
    // at 'exit' (which follows), so no invocation is handed to it in between.
    this.alive = false;
    const code = (error as NodeJS.ErrnoException).code;
    this.#crash =
      code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { errorType: 'Runtime.OutOfMemory', errorMessage: error.message }
        : {
            errorType: 'Runtime.ExitError',
            errorMessage: `${error.name}: ${error.message}`,
          };
    // Node does not print a worker's uncaught exception: say it here, also when
    // no invocation is running.
    log(`sandbox crashed: ${error.stack ?? this.#crash.errorMessage}`);
  }

  /** Runs one invocation; past its deadline the sandbox is terminated. */
  run(message: InvokeMessage): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const timer = this.#debuggable
        ? undefined
        : setTimeout(
            () => {
              this.#settle({ kind: 'timeout' });
              void this.terminate();
            },
            Math.max(0, message.deadline - Date.now()),
          );
      this.#settleRun = (outcome) => {
        clearTimeout(timer);
        this.#settleRun = undefined;
        resolve(outcome);
      };
      this.#worker.postMessage(
        message,
        message.event.kind === 'kafka'
          ? transferList(message.event.records)
          : [],
      );
    });
  }

  async terminate(): Promise<void> {
    const wasAlive = this.alive;
    this.alive = false;
    // A worker waits for its debugger to disconnect before it ends (checked): its
    // inspector is closed first, which disconnects the debugger.
    if (this.#debuggable && wasAlive) await this.#closeInspector();
    await this.#worker.terminate();
  }

  #closeInspector(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, INSPECTOR_CLOSE_MS);
      this.#inspectorClosed = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#worker.postMessage({ type: 'close-inspector' });
    });
  }

  #settle(outcome: Outcome): void {
    this.#settleRun?.(outcome);
  }
}

/**
 * The sandbox's worker thread, started with the function's entry, environment and
 * memory, and its own log stream name.
 */
function startWorker(
  fn: LocalFunction,
  inspect: SandboxInspector | undefined,
): Worker {
  const logStreamName = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomBytes(16).toString('hex')}`;
  const data: SandboxData = {
    entry: path.resolve(REPO_ROOT, fn.entry),
    handler: fn.handler,
    functionName: fn.name,
    invokedFunctionArn: localFunctionArn(
      fn.environment.AWS_REGION ?? 'us-east-1',
      fn.name,
    ),
    memoryLimitInMB: fn.memoryMb,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName,
    ...(inspect ? { inspect } : {}),
  };
  return new Worker(WORKER, {
    name: sandboxThreadName(fn.name),
    workerData: data,
    env: { ...fn.environment, AWS_LAMBDA_LOG_STREAM_NAME: logStreamName },
    execArgv: workerExecArgv(),
    resourceLimits: { maxOldGenerationSizeMb: fn.memoryMb },
    stdout: true,
    stderr: true,
  });
}

/** Each line a sandbox writes goes to the log, whole. */
function forwardLines(stream: Readable, log: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on(
    'line',
    log,
  );
}
