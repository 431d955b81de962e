/**
 * One invocation of a local function in one of its sandboxes, and its outcome as
 * Lambda's Invoke API reports it (a cold start that failed, a timeout, a crash, a
 * function error).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { InvokeResult } from './lambda.ts';
import {
  INIT_TIMEOUT_MS,
  type Outcome,
  type Sandbox,
} from './lambda-sandbox.ts';
import type { InjectedFault, SandboxEvent } from './lambda-worker.ts';
import type { LocalFunction } from './template.ts';

/**
 * One invocation in one sandbox: waits for its cold start, then runs the event, with
 * the fault chaos drew for it, if any.
 */
export async function invokeIn(
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
  return invokeResult(outcome, durationMs, awsRequestId, initField, log);
}

/** The Invoke API's account of how an invocation that got to run ended. */
function invokeResult(
  outcome: Outcome,
  durationMs: number,
  awsRequestId: string,
  initField: { readonly requestId: string; readonly initDurationMs?: number },
  log: (line: string) => void,
): InvokeResult {
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
