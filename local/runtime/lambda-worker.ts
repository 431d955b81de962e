/**
 * One local Lambda sandbox: the body of a worker thread started by
 * `startLocalLambda` (./lambda.ts). It imports the function's TypeScript entry once
 * (the cold start: module-scope code such as configuration loading runs here, with
 * the function's own `process.env`), then runs one invocation at a time with a
 * Lambda-like context.
 */
import inspector from 'node:inspector';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { ChaosError, type ChaosFault, type ChaosMoment } from './chaos.ts';
import { type KafkaEnvelope, kafkaEvent } from './esm/records/kafka-event.ts';
import type { PackedRecords } from './esm/records/packed-records.ts';

/** What the sandbox is started with (`workerData`). */
export interface SandboxData {
  /** Absolute path of the TypeScript entry. */
  readonly entry: string;
  /** The exported handler. */
  readonly handler: string;
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: number;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** Open an inspector in this sandbox (docs/local-debugging.md). */
  readonly inspect?: SandboxInspector;
}

/**
 * A debugger for one sandbox: the worker opens an inspector of its own on 127.0.0.1
 * (a worker thread's inspector reaches its own isolate, which the process's
 * `--inspect` does not list as a target).
 */
export interface SandboxInspector {
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * `none`: run at once; `attach`: wait for a debugger before the module loads;
   * `break`: wait, and pause once just before the first call of the handler.
   */
  readonly wait: 'none' | 'attach' | 'break';
}

/**
 * An event on its way to the sandbox: JSON text (Lambda events are JSON), or the
 * packed records of a Kafka event, which the sandbox builds (transferred, not
 * copied: the mapping's thread does not pay for base64 and header arrays).
 */
export type SandboxEvent =
  | { readonly kind: 'json'; readonly json: string }
  | {
      readonly kind: 'kafka';
      readonly envelope: KafkaEnvelope;
      readonly records: PackedRecords;
    };

/** From the runtime to the sandbox: run one event. */
export interface InvokeMessage {
  readonly type: 'invoke';
  readonly awsRequestId: string;
  readonly event: SandboxEvent;
  /** Epoch milliseconds at which the invocation times out. */
  readonly deadline: number;
  /** A fault injected into this invocation (`npm run dev --chaos`). */
  readonly chaos?: InjectedFault;
}

/** From the runtime to the sandbox: close the inspector (disconnecting a debugger). */
export interface CloseInspectorMessage {
  readonly type: 'close-inspector';
}

/** What chaos does to one invocation, and when (./chaos.ts). */
export interface InjectedFault {
  readonly fault: ChaosFault;
  readonly when: ChaosMoment;
}

/** A failure, as Lambda reports it: the error's name and message. */
export interface FailureMessage {
  readonly errorType: string;
  readonly errorMessage: string;
}

/** From the sandbox to the runtime. */
export type SandboxMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'inspector'; readonly url: string }
  | { readonly type: 'inspector-closed' }
  | ({ readonly type: 'init-error' } & FailureMessage)
  | {
      readonly type: 'result';
      readonly awsRequestId: string;
      /** The result's JSON text. */
      readonly resultJson: string;
    }
  | ({
      readonly type: 'error';
      readonly awsRequestId: string;
    } & FailureMessage);

type Handler = (event: unknown, context: unknown) => unknown;

/**
 * Applies an injected fault where the handler would be: a failure throws, as a
 * handler's error would; a timeout never settles, so the runtime's timer ends the
 * invocation and the sandbox exactly as it ends a handler that runs too long.
 */
async function inject(
  chaos: InjectedFault,
  awsRequestId: string,
): Promise<void> {
  if (chaos.fault === 'timeout') return new Promise<void>(() => {});
  throw new ChaosError(
    `injected chaos (npm run dev --chaos): invocation ${awsRequestId} fails ${chaos.when} the handler`,
  );
}

function failureOf(error: unknown): FailureMessage & { stack?: string } {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      ...(error.stack ? { stack: error.stack } : {}),
    };
  }
  return { errorType: 'Error', errorMessage: String(error) };
}

/** Like Lambda's runtime, every failure is also written to the function's log. */
function logFailure(message: string, error: unknown, requestId?: string) {
  const { errorType, errorMessage, stack } = failureOf(error);
  console.error(
    JSON.stringify({
      level: 'ERROR',
      message,
      ...(requestId ? { requestId } : {}),
      errorType,
      errorMessage,
      stack: stack?.split('\n'),
    }),
  );
}

/**
 * Opens the inspector when the sandbox is debuggable (and waits for a debugger
 * when told to); whether the first invocation pauses before the handler.
 */
function openInspector(
  data: SandboxData,
  post: (message: SandboxMessage) => void,
): boolean {
  if (!data.inspect) return false;
  const { port: inspectorPort, wait } = data.inspect;
  try {
    inspector.open(inspectorPort, '127.0.0.1', false);
  } catch (error) {
    // A taken port: run without a debugger rather than not at all, and say so.
    logFailure(`Inspector Error: port ${inspectorPort}`, error);
  }
  const url = inspector.url();
  if (url === undefined) return false;
  post({ type: 'inspector', url });
  // Blocks this thread until a debugger says run (Runtime.runIfWaitingForDebugger):
  // its breakpoints are set before the function's module is even parsed.
  if (wait !== 'none') inspector.waitForDebugger();
  return wait === 'break';
}

/**
 * Imports the function's module and finds its handler; undefined (after posting
 * the init error) when it fails.
 */
async function loadHandler(
  data: SandboxData,
  post: (message: SandboxMessage) => void,
): Promise<Handler | undefined> {
  try {
    const module: Record<string, unknown> = await import(
      pathToFileURL(data.entry).href
    );
    const exported = module[data.handler];
    if (typeof exported !== 'function') {
      // Lambda's own error for a handler that is not exported.
      post({
        type: 'init-error',
        errorType: 'Runtime.HandlerNotFound',
        errorMessage: `${data.entry}.${data.handler} is undefined or not exported`,
      });
      return undefined;
    }
    return exported as Handler;
  } catch (error) {
    logFailure('Init Error', error);
    post({ type: 'init-error', ...failureOf(error) });
    return undefined;
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('lambda-worker.ts runs only as a worker thread');
  const data = workerData as SandboxData;
  const post = (message: SandboxMessage) => port.postMessage(message);
  let pauseBeforeHandler = openInspector(data, post);
  const handler = await loadHandler(data, post);
  if (handler === undefined) return;
  post({ type: 'ready' });

  // Invocations arrive one at a time: the runtime sends the next one only after
  // this one answered, as Lambda does with one sandbox.
  port.on('message', async (message: InvokeMessage | CloseInspectorMessage) => {
    if (message.type === 'close-inspector') {
      inspector.close();
      post({ type: 'inspector-closed' });
      return;
    }
    const { awsRequestId, deadline, chaos } = message;
    const context = {
      functionName: data.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: data.invokedFunctionArn,
      // A string, as in Lambda's Node.js runtime.
      memoryLimitInMB: String(data.memoryLimitInMB),
      awsRequestId,
      logGroupName: data.logGroupName,
      logStreamName: data.logStreamName,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const { event } = message;
      if (chaos?.when === 'before') await inject(chaos, awsRequestId);
      const input =
        event.kind === 'json'
          ? JSON.parse(event.json)
          : kafkaEvent(event.envelope, event.records);
      if (pauseBeforeHandler) {
        pauseBeforeHandler = false;
        // biome-ignore lint/suspicious/noDebugger: --inspect-brk pauses here once: step into the handler (docs/local-debugging.md)
        debugger;
      }
      const returned = await handler(input, context);
      if (chaos?.when === 'after') await inject(chaos, awsRequestId);
      // Lambda answers with the JSON of the result: `undefined` becomes null,
      // dates become strings, functions disappear.
      const json = JSON.stringify(returned) as string | undefined;
      post({ type: 'result', awsRequestId, resultJson: json ?? 'null' });
    } catch (error) {
      logFailure('Invoke Error', error, awsRequestId);
      post({ type: 'error', awsRequestId, ...failureOf(error) });
    }
  });
}

await main();
