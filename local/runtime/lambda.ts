/**
 * Functions invoked like Lambda, on this machine: each function runs in its own
 * worker thread (a sandbox with its own `process.env`), loaded once and reused while
 * warm, one event at a time per sandbox, with the template's timeout enforced.
 *
 * What runs is the TypeScript source named by the template (`orders:source-entry`),
 * not the esbuild bundle that deploys: no build step, an edit is live on the next
 * start, and stack traces point at the sources without source maps. The bundle
 * differs from the source only by esbuild's transformation (tree-shaking, CommonJS
 * output); that is covered where it is made (test/infra/bundles.test.ts), not here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { type ChaosFault, type ChaosSettings, chaosSequence } from './chaos.ts';
import type { KafkaEnvelope } from './esm/records/kafka-event.ts';
import {
  type PackedRecords,
  transferList,
} from './esm/records/packed-records.ts';
import type {
  FailureMessage,
  InjectedFault,
  InvokeMessage,
  SandboxData,
  SandboxEvent,
  SandboxInspector,
  SandboxMessage,
} from './lambda-worker.ts';
import { type LocalFunction, localFunctionArn } from './template.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const WORKER = new URL('./lambda-worker.ts', import.meta.url);
/** Lambda gives the init phase of an on-demand function 10 s of its own. */
const INIT_TIMEOUT_MS = 10_000;
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

/** The outcome of one invocation, as Lambda's Invoke API would report it. */
export type InvokeResult =
  | {
      readonly ok: true;
      /** The handler's result, through JSON (`undefined` -> `null`). */
      readonly result: unknown;
      /** The handler's run time (Lambda's Duration: init excluded). */
      readonly durationMs: number;
      /** Present on a cold start: how long loading the module took. */
      readonly initDurationMs?: number;
      /** The invocation's `awsRequestId`, as the function's log lines show it. */
      readonly requestId?: string;
    }
  | {
      readonly ok: false;
      /** The error's name, `Sandbox.Timedout`, `Runtime.ExitError`... */
      readonly errorType: string;
      readonly errorMessage: string;
      readonly timedOut: boolean;
      readonly durationMs: number;
      readonly initDurationMs?: number;
      readonly requestId?: string;
    };

/**
 * What runs an event: a local function, or a fake in tests. The event source mapping
 * and the HTTP API invoke through this.
 *
 * @example
 * ```ts
 * const echo: Invoker = { name: 'echo', invoke: async (event) => ({ ok: true, result: event, durationMs: 0 }) };
 * ```
 */
export interface Invoker {
  readonly name: string;
  invoke(event: unknown): Promise<InvokeResult>;
  /**
   * Runs the Kafka event `kafkaEvent(envelope, records)`
   * (./esm/records/kafka-event.ts), built
   * by the invoker: a local function builds it in its sandbox's thread. Optional: the
   * event source mapping builds the event and calls `invoke` when it is missing.
   * `records` is transferred: its buffers are detached once this returns.
   */
  invokeKafka?(
    envelope: KafkaEnvelope,
    records: PackedRecords,
  ): Promise<InvokeResult>;
}

/** A running local function. */
export interface LocalLambda extends Invoker {
  readonly name: string;
  /** Runs one event; resolves with the function's result or failure. */
  invoke(event: unknown): Promise<InvokeResult>;
  invokeKafka(
    envelope: KafkaEnvelope,
    records: PackedRecords,
  ): Promise<InvokeResult>;
  /**
   * Terminates every sandbox; pending and later invocations reject. Required at
   * shutdown: a worker with captured stdout keeps the process alive (checked).
   */
  stop(): Promise<void>;
  /**
   * Retires every sandbox (idle ones now, busy ones after their invocation), so the
   * next invocation is a cold start that loads the code again: `npm run dev --watch`.
   */
  reload(): Promise<void>;
}

/** Options of {@link startLocalLambda}. */
export interface LocalLambdaOptions {
  /** Where the function's log lines go, prefixed `[name] `. Default: stdout. */
  readonly log?: (line: string) => void;
  /** Sandboxes (workers) of this function, i.e. its concurrency. Default: 1. */
  readonly concurrency?: number;
  /**
   * Injected faults (./chaos.ts): a share of invocations fails, or runs until the
   * function's timeout, exactly as if the handler had. Default: none.
   */
  readonly chaos?: ChaosSettings;
  /**
   * Open an inspector in each sandbox, so a debugger can attach to the function
   * (docs/local-debugging.md). The init and invocation timeouts are then not
   * enforced: a debugger paused at a breakpoint would otherwise trip them. A fixed
   * port allows one sandbox (`concurrency` 1). Default: none.
   */
  readonly inspect?: SandboxInspector;
}

/** The function was stopped: it runs no more invocations. */
export class LocalLambdaStoppedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalLambdaStoppedError';
  }
}

/** How a sandbox's init or one invocation ended. */
type Outcome =
  | { readonly kind: 'result'; readonly result: unknown }
  | ({ readonly kind: 'error' | 'init-error' | 'crash' } & FailureMessage)
  | { readonly kind: 'timeout' };

interface Job {
  readonly event: SandboxEvent;
  /** The chaos drawn for this invocation, in arrival order. */
  readonly fault: ChaosFault | undefined;
  readonly resolve: (result: InvokeResult) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Starts a function like Lambda would run it. Sandboxes start lazily (the first
 * invocation is a cold start), are reused while warm, and run one event at a time;
 * with `concurrency` > 1 up to that many run side by side. An invocation past the
 * function's timeout fails with `Sandbox.Timedout` and its sandbox is terminated
 * (the next invocation is a cold start); a sandbox that crashed or failed its cold
 * start is replaced on the next invocation.
 *
 * @example
 * ```ts
 * const payment = startLocalLambda(system.functions[2], { log: console.log });
 * const outcome = await payment.invoke(mskEvent);
 * if (!outcome.ok) console.error(outcome.errorType, outcome.errorMessage);
 * await payment.stop();
 * ```
 */
export function startLocalLambda(
  fn: LocalFunction,
  options: LocalLambdaOptions = {},
): LocalLambda {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer`);
  }
  if (options.inspect && options.inspect.port !== 0 && concurrency > 1) {
    throw new RangeError(
      `an inspector on port ${options.inspect.port} allows one sandbox, not ${concurrency}`,
    );
  }
  const write = options.log ?? ((line) => process.stdout.write(`${line}\n`));
  const log = (line: string) => write(`[${fn.name}] ${line}`);
  const nextFault = options.chaos
    ? chaosSequence(options.chaos)
    : () => undefined;
  const sandboxes = new Set<Sandbox>();
  const idle: Sandbox[] = [];
  const queue: Job[] = [];
  let stopped = false;
  // Sandboxes of an older generation are retired instead of reused (reload()).
  let generation = 0;
  const generationOf = new WeakMap<Sandbox, number>();

  const pump = () => {
    while (queue.length > 0 && !stopped) {
      let sandbox = idle.pop();
      // A sandbox can die while idle (a stray timer throwing): skip it.
      while (sandbox && !sandbox.alive) {
        sandboxes.delete(sandbox);
        sandbox = idle.pop();
      }
      if (!sandbox) {
        if (sandboxes.size >= concurrency) return;
        sandbox = new Sandbox(fn, log, options.inspect);
        generationOf.set(sandbox, generation);
        sandboxes.add(sandbox);
      }
      const job = queue.shift() as Job;
      const running = sandbox;
      const chaos: InjectedFault | undefined = job.fault && {
        fault: job.fault,
        when: options.chaos?.when ?? 'before',
      };
      void invokeIn(running, job.event, fn, log, chaos).then((result) => {
        if (running.alive && generationOf.get(running) === generation) {
          idle.push(running);
        } else {
          sandboxes.delete(running);
          if (running.alive) void running.terminate();
        }
        if (stopped) {
          job.reject(stoppedError(fn.name));
        } else {
          job.resolve(result);
          pump();
        }
      });
    }
  };

  const enqueue = (event: SandboxEvent) => {
    if (stopped) return Promise.reject(stoppedError(fn.name));
    return new Promise<InvokeResult>((resolve, reject) => {
      queue.push({ event, fault: nextFault(), resolve, reject });
      pump();
    });
  };

  return {
    name: fn.name,
    invoke(event) {
      // Lambda events are JSON: anything else fails here, as it would at Invoke. The
      // JSON text is what crosses to the sandbox, which parses it: one serialization
      // instead of a round trip here plus a structured clone of the object.
      const json = JSON.stringify(event ?? null) as string | undefined;
      return enqueue({ kind: 'json', json: json ?? 'null' });
    },
    invokeKafka(envelope, records) {
      return enqueue({ kind: 'kafka', envelope, records });
    },
    async reload() {
      generation += 1;
      const retired = idle.splice(0);
      for (const sandbox of retired) sandboxes.delete(sandbox);
      await Promise.all(retired.map((sandbox) => sandbox.terminate()));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const job of queue.splice(0)) job.reject(stoppedError(fn.name));
      await Promise.all([...sandboxes].map((sandbox) => sandbox.terminate()));
      sandboxes.clear();
      idle.length = 0;
    },
  };
}

function stoppedError(name: string): LocalLambdaStoppedError {
  return new LocalLambdaStoppedError(`local function ${name} is stopped`);
}

/**
 * One invocation in one sandbox: waits for its cold start, then runs the event, with
 * the fault chaos drew for it, if any.
 */
async function invokeIn(
  sandbox: Sandbox,
  event: SandboxEvent,
  fn: LocalFunction,
  log: (line: string) => void,
  chaos: InjectedFault | undefined,
): Promise<InvokeResult> {
  const awsRequestId = randomUUID();
  const cold = !sandbox.initialized;
  const initStart = performance.now();
  const init = await sandbox.ready;
  const initDurationMs = cold ? performance.now() - initStart : undefined;
  const initField =
    initDurationMs === undefined
      ? { requestId: awsRequestId }
      : { initDurationMs, requestId: awsRequestId };
  if (init.kind !== 'result') {
    await sandbox.terminate();
    const timedOut = init.kind === 'timeout';
    const reason = timedOut
      ? `timed out after ${(INIT_TIMEOUT_MS / 1000).toFixed(2)} seconds`
      : `${init.errorType}: ${init.errorMessage}`;
    log(`cold start failed: ${reason}`);
    return {
      ok: false,
      errorType: timedOut ? 'Sandbox.Timedout' : init.errorType,
      errorMessage: `RequestId: ${awsRequestId} Error: cold start of ${fn.name} failed: ${reason}`,
      timedOut,
      durationMs: 0,
      ...initField,
    };
  }

  if (chaos) {
    log(
      `chaos: ${awsRequestId} ${chaos.fault === 'fail' ? 'fails' : 'hangs'} ${chaos.when} the handler${chaos.fault === 'fail' ? '' : `, until its ${fn.timeoutSeconds} s timeout`} (injected, --chaos)`,
    );
  }
  const start = performance.now();
  const outcome = await sandbox.run({
    type: 'invoke',
    awsRequestId,
    event,
    deadline: Date.now() + fn.timeoutSeconds * 1000,
    ...(chaos ? { chaos } : {}),
  });
  const durationMs = performance.now() - start;
  switch (outcome.kind) {
    case 'result':
      return { ok: true, result: outcome.result, durationMs, ...initField };
    case 'timeout': {
      // Lambda's message and log line for an invocation past its timeout.
      const message = `Task timed out after ${(durationMs / 1000).toFixed(2)} seconds`;
      log(`${new Date().toISOString()} ${awsRequestId} ${message}`);
      return {
        ok: false,
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${awsRequestId} Error: ${message}`,
        timedOut: true,
        durationMs,
        ...initField,
      };
    }
    case 'crash':
      return {
        ok: false,
        errorType: outcome.errorType,
        errorMessage: `RequestId: ${awsRequestId} Error: Runtime exited with error: ${outcome.errorMessage}`,
        timedOut: false,
        durationMs,
        ...initField,
      };
    default:
      // The handler threw or rejected: Lambda's 'Unhandled' function error.
      return {
        ok: false,
        errorType: outcome.errorType,
        errorMessage: outcome.errorMessage,
        timedOut: false,
        durationMs,
        ...initField,
      };
  }
}

/**
 * A worker thread running one copy of the function. Its `process.env` is the
 * function's environment only, like a Lambda sandbox; its heap is capped at the
 * function's memory size.
 */
class Sandbox {
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
    this.#worker = new Worker(WORKER, {
      name: sandboxThreadName(fn.name),
      workerData: data,
      env: { ...fn.environment, AWS_LAMBDA_LOG_STREAM_NAME: logStreamName },
      execArgv: workerExecArgv(),
      resourceLimits: { maxOldGenerationSizeMb: fn.memoryMb },
      stdout: true,
      stderr: true,
    });
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
    });
    this.#worker.on('error', (error) => {
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

/** Each line a sandbox writes goes to the log, whole. */
function forwardLines(stream: Readable, log: (line: string) => void): void {
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on(
    'line',
    log,
  );
}
