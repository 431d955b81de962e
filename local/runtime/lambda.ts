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
 *
 * This module is the public face (`startLocalLambda`, `InvokeResult`, `Invoker`);
 * the sandboxes are in ./lambda-sandbox-pool.ts, ./lambda-sandbox.ts and
 * ./lambda-invocation.ts.
 */
import { type ChaosSettings, chaosSequence } from './chaos.ts';
import type { KafkaEnvelope } from './esm/records/kafka-event.ts';
import type { PackedRecords } from './esm/records/packed-records.ts';
import { SandboxPool } from './lambda-sandbox-pool.ts';
import type { SandboxInspector } from './lambda-worker.ts';
import type { LocalFunction } from './template.ts';

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
   * (./esm/records/kafka-event.ts), built by the invoker: a local function builds it
   * in its sandbox's thread. Optional: the event source mapping builds the event and
   * calls `invoke` when it is missing.
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
  const pool = new SandboxPool({
    fn,
    log,
    concurrency,
    chaos: options.chaos,
    nextFault: options.chaos ? chaosSequence(options.chaos) : () => undefined,
    inspect: options.inspect,
    stoppedError: () => stoppedError(fn.name),
  });
  return {
    name: fn.name,
    invoke(event) {
      // Lambda events are JSON: anything else fails here, as it would at Invoke. The
      // JSON text is what crosses to the sandbox, which parses it: one serialization
      // instead of a round trip here plus a structured clone of the object.
      const json = JSON.stringify(event ?? null) as string | undefined;
      return pool.enqueue({ kind: 'json', json: json ?? 'null' });
    },
    invokeKafka(envelope, records) {
      return pool.enqueue({ kind: 'kafka', envelope, records });
    },
    async reload() {
      await pool.reload();
    },
    async stop() {
      await pool.stop();
    },
  };
}

function stoppedError(name: string): LocalLambdaStoppedError {
  return new LocalLambdaStoppedError(`local function ${name} is stopped`);
}
