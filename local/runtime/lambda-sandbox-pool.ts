/**
 * The sandboxes of one local function: started lazily (the first invocation is a cold
 * start), reused while warm, one event at a time each, at most `concurrency` of
 * them; events wait in a queue for a free one.
 */
import type { ChaosFault, ChaosSettings } from './chaos.ts';
import type { InvokeResult } from './lambda.ts';
import { invokeIn } from './lambda-invocation.ts';
import { Sandbox } from './lambda-sandbox.ts';
import type {
  InjectedFault,
  SandboxEvent,
  SandboxInspector,
} from './lambda-worker.ts';
import type { LocalFunction } from './template.ts';

interface Job {
  readonly event: SandboxEvent;
  /** The chaos drawn for this invocation, in arrival order. */
  readonly fault: ChaosFault | undefined;
  readonly resolve: (result: InvokeResult) => void;
  readonly reject: (error: Error) => void;
}

/** What a {@link SandboxPool} works with. */
export interface SandboxPoolParts {
  readonly fn: LocalFunction;
  /** The function's log, lines already prefixed with its name. */
  readonly log: (line: string) => void;
  readonly concurrency: number;
  readonly chaos: ChaosSettings | undefined;
  /** The fault chaos draws for the next invocation, if any. */
  readonly nextFault: () => ChaosFault | undefined;
  readonly inspect: SandboxInspector | undefined;
  /** Why an invocation is refused once the pool is stopped. */
  readonly stoppedError: () => Error;
}

/**
 * A function's sandboxes and the events waiting for one.
 *
 * @example
 * ```ts
 * const pool = new SandboxPool(parts);
 * const result = await pool.enqueue({ kind: 'json', json: '{}' });
 * await pool.stop();
 * ```
 */
export class SandboxPool {
  readonly #parts: SandboxPoolParts;
  readonly #sandboxes = new Set<Sandbox>();
  readonly #idle: Sandbox[] = [];
  readonly #queue: Job[] = [];
  #stopped = false;
  // Sandboxes of an older generation are retired instead of reused (reload()).
  #generation = 0;
  readonly #generationOf = new WeakMap<Sandbox, number>();

  constructor(parts: SandboxPoolParts) {
    this.#parts = parts;
  }

  /** Runs `event` in a free sandbox once one is free. */
  enqueue(event: SandboxEvent): Promise<InvokeResult> {
    if (this.#stopped) return Promise.reject(this.#parts.stoppedError());
    return new Promise<InvokeResult>((resolve, reject) => {
      this.#queue.push({
        event,
        fault: this.#parts.nextFault(),
        resolve,
        reject,
      });
      this.#pump();
    });
  }

  /** Retires every sandbox: idle ones now, busy ones after their invocation. */
  async reload(): Promise<void> {
    this.#generation += 1;
    const retired = this.#idle.splice(0);
    for (const sandbox of retired) this.#sandboxes.delete(sandbox);
    await Promise.all(retired.map((sandbox) => sandbox.terminate()));
  }

  /** Terminates every sandbox; pending and later invocations reject. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const job of this.#queue.splice(0)) {
      job.reject(this.#parts.stoppedError());
    }
    await Promise.all(
      [...this.#sandboxes].map((sandbox) => sandbox.terminate()),
    );
    this.#sandboxes.clear();
    this.#idle.length = 0;
  }

  #pump(): void {
    const { fn, log, chaos } = this.#parts;
    while (this.#queue.length > 0 && !this.#stopped) {
      const sandbox = this.#freeSandbox();
      if (!sandbox) return;
      const job = this.#queue.shift() as Job;
      const running = sandbox;
      const injected: InjectedFault | undefined = job.fault && {
        fault: job.fault,
        when: chaos?.when ?? 'before',
      };
      void invokeIn(running, job.event, fn, log, injected).then((result) => {
        if (
          running.alive &&
          this.#generationOf.get(running) === this.#generation
        ) {
          this.#idle.push(running);
        } else {
          this.#sandboxes.delete(running);
          if (running.alive) void running.terminate();
        }
        if (this.#stopped) {
          job.reject(this.#parts.stoppedError());
        } else {
          job.resolve(result);
          this.#pump();
        }
      });
    }
  }

  /** An idle sandbox, or a new one while under the concurrency; else none. */
  #freeSandbox(): Sandbox | undefined {
    let sandbox = this.#idle.pop();
    // A sandbox can die while idle (a stray timer throwing): skip it.
    while (sandbox && !sandbox.alive) {
      this.#sandboxes.delete(sandbox);
      sandbox = this.#idle.pop();
    }
    if (sandbox) return sandbox;
    if (this.#sandboxes.size >= this.#parts.concurrency) return undefined;
    sandbox = new Sandbox(this.#parts.fn, this.#parts.log, this.#parts.inspect);
    this.#generationOf.set(sandbox, this.#generation);
    this.#sandboxes.add(sandbox);
    return sandbox;
  }
}
