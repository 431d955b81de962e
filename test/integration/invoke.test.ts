/**
 * `npm run event` and `npm run invoke` as a person runs them: child processes, against
 * the integration run's broker and DynamoDB Local (KAFKA_BROKERS, DYNAMODB_ENDPOINT).
 * The event a command prints goes into the other, as in
 * `npm run -s event -- msk --order | npm run invoke -- payment --event -`.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaMskEventSchema } from '@aws-lambda-powertools/parser/schemas/kafka';
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  inject,
  it,
} from 'vitest';
import { createPaymentRepository } from '#commons/payment-repository.ts';
import { deadLetterTopic, OrderPlaced, TOPICS } from '#domain/events.ts';
import { TABLES } from '#infra/tables.ts';
import { REPO_ROOT } from '#platform/artifacts.ts';
import {
  readSystem,
  synthesizeTemplate,
} from '../../local/runtime/template.ts';
import { PIPELINE_MS, SETTLES_MS } from './deadlines.ts';
import { readRecords } from './msk.ts';
import { localDocumentClient } from './store.ts';

const EVENT = join(REPO_ROOT, 'local', 'event.ts');
const INVOKE = join(REPO_ROOT, 'local', 'invoke.ts');
const brokers = inject('kafkaBrokers');
const dynamodbEndpoint = inject('dynamodbEndpoint');
const run = randomUUID().slice(0, 8);

/** A command that ran to its end. */
interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ReturnType<typeof spawn>>();
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'invoke-test-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

/**
 * The environment of a command: the test platform, and a state file of its own, so a
 * developer's running `npm run dev` is neither used nor disturbed.
 */
function commandEnv(overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: brokers.join(','),
    DYNAMODB_ENDPOINT: dynamodbEndpoint,
    LOCAL_PLATFORM_STATE: join(scratch, 'platform.json'),
    ...overrides,
  };
  delete env.LOCAL_FUNCTION_ENV;
  return env;
}

/** Spawns a script of the repository, as its npm script does. */
function start(
  script: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string } = {},
) {
  const child = spawn(
    process.execPath,
    ['--disable-warning=TimeoutNegativeWarning', script, ...args],
    {
      env: options.env ?? commandEnv(),
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    },
  );
  children.add(child);
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const wake of waiters) wake();
  });
  const finished = new Promise<Finished>((resolve) => {
    child.once('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
      for (const wake of waiters) wake();
    });
  });
  return {
    finished,
    /** stdout so far. */
    stdout: () => stdout,
    /** The first match of `pattern` in stderr, once it is there. */
    stderrMatch(pattern: RegExp, timeoutMs = PIPELINE_MS) {
      return new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${stderr}`));
        }, timeoutMs);
        const check = () => {
          const match = pattern.exec(stderr);
          if (match || child.exitCode !== null) {
            waiters.delete(check);
            clearTimeout(timer);
            if (match) resolve(match);
            else reject(new Error(`exited before ${pattern}:\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

function runScript(
  script: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; stdin?: string } = {},
): Promise<Finished> {
  return start(script, args, options).finished;
}

/** `npm run event -- ...`, its JSON output, checked to have exited 0. */
async function event(...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runScript(EVENT, args);
  expect(code, stderr).toBe(0);
  return stdout;
}

function eventFile(name: string, json: string): string {
  const file = join(scratch, name);
  writeFileSync(file, json);
  return file;
}

function paymentsTable(): string {
  const model = readSystem(synthesizeTemplate(), {
    brokers,
    dynamodbEndpoint,
  });
  const payment = model.functions.find((fn) => fn.name === 'payment');
  const table = payment?.environment[TABLES.payments.envVar];
  if (!table) throw new Error('the payment function names no payments table');
  return table;
}

describe('npm run event -- msk --order', () => {
  it('prints an MSK event that Powertools parses, with one valid OrderPlaced.v1', async () => {
    // Act
    const stdout = await event('msk', '--order', '--order-id', `ev-${run}`);

    // Assess
    const parsed = KafkaMskEventSchema.parse(JSON.parse(stdout));
    expect(parsed.eventSource).toBe('aws:kafka');
    expect(parsed.bootstrapServers).toEqual(brokers);
    const records = parsed.records[`${TOPICS.orderPlaced}-0`] ?? [];
    expect(records).toHaveLength(1);
    expect(records[0]?.key).toBe(`ev-${run}`);
    const placed = OrderPlaced.parse(JSON.parse(records[0]?.value ?? ''));
    expect(placed.data.orderId).toBe(`ev-${run}`);
  });
});

describe('npm run invoke', () => {
  it('runs the payment function on an --order event: the partial-batch response, the payment stored, its outcome published', async () => {
    // Prepare
    const orderId = `inv-${run}`;
    const file = eventFile(
      'order.json',
      await event('msk', '--order', '--order-id', orderId),
    );

    // Act
    const { code, stdout, stderr } = await runScript(INVOKE, [
      'payment',
      '--event',
      file,
    ]);

    // Assess: the result alone on stdout, the logs on stderr.
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('{"batchItemFailures":[]}\n');
    expect(stderr).toMatch(/\[payment\] .*"batch consumed"/);
    expect(stderr).toMatch(/\[invoke\] payment: succeeded in \d+ ms/);
    const payments = createPaymentRepository(
      localDocumentClient(dynamodbEndpoint),
      paymentsTable(),
    );
    const payment = await payments.getPayment(orderId);
    expect(payment?.status).toBe('CHARGED');
    const outcomes = await readRecords(brokers, TOPICS.paymentProcessed, (r) =>
      r.some((record) => record.message.key?.toString() === orderId),
    );
    expect(
      outcomes.some((record) => record.message.key?.toString() === orderId),
    ).toBe(true);
  });

  it('dead-letters a poison record and answers the partial-batch response: nothing failed', async () => {
    // Prepare: a poison value beside a good order, in one batch.
    const orderId = `mixed-${run}`;
    const poisonKey = `poison-${run}`;
    const file = eventFile(
      'poison.json',
      await event(
        'msk',
        '--topic',
        TOPICS.orderPlaced,
        '--value',
        'not json',
        '--key',
        poisonKey,
        '--order',
        '--order-id',
        orderId,
      ),
    );

    // Act
    const { code, stdout, stderr } = await runScript(INVOKE, [
      'payment',
      '--event',
      file,
    ]);

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('{"batchItemFailures":[]}\n');
    const letters = await readRecords(
      brokers,
      deadLetterTopic(TOPICS.orderPlaced),
      (r) => r.some((record) => record.message.key?.toString() === poisonKey),
    );
    const letter = letters.find(
      (record) => record.message.key?.toString() === poisonKey,
    );
    const document = JSON.parse(letter?.message.value?.toString() ?? '{}') as {
      original?: { value?: string };
    };
    expect(
      Buffer.from(document.original?.value ?? '', 'base64').toString(),
    ).toBe('not json');
    const payments = createPaymentRepository(
      localDocumentClient(dynamodbEndpoint),
      paymentsTable(),
    );
    expect((await payments.getPayment(orderId))?.status).toBe('CHARGED');
  });

  it('runs the order API on an http --order event read from stdin: 201', async () => {
    // Prepare
    const orderId = `api-${run}`;
    const request = await event('http', '--order', '--order-id', orderId);

    // Act
    const { code, stdout, stderr } = await runScript(
      INVOKE,
      ['order-api', '--event', '-'],
      { stdin: request },
    );

    // Assess
    expect(code, stderr).toBe(0);
    const response = JSON.parse(stdout) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    expect(response.statusCode).toBe(201);
    expect(response.headers.location).toBe(`/orders/${orderId}`);
    expect(JSON.parse(response.body)).toMatchObject({
      orderId,
      status: 'PENDING',
    });
  });

  it('prints a function error as Lambda reports it, and exits 1', async () => {
    // Act: the payment function is given something that is not a Kafka event.
    const { code, stdout, stderr } = await runScript(
      INVOKE,
      ['payment', '--event', '-'],
      { stdin: '{"hello":1}' },
    );

    // Assess
    expect(code, stderr).toBe(1);
    const failure = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(failure)).toEqual(['errorType', 'errorMessage']);
    expect(failure.errorType).toBe('InvalidKafkaEventError');
    expect(failure.errorMessage).toMatch(/not a Kafka event/);
  });

  it.each([
    [
      'an unknown function',
      ['nope', '--event', '-'],
      '{}',
      /^error: no function named nope; the functions are order-api, .*payment/,
    ],
    [
      'a missing event file',
      ['payment', '--event', '/nonexistent/event.json'],
      '',
      /^error: --event \/nonexistent\/event\.json: no such file; make one with npm run event$/,
    ],
    [
      'an event that is not JSON',
      ['payment', '--event', '-'],
      '{"not": json',
      /^error: --event - \(stdin\): not JSON/,
    ],
  ])('refuses %s in one line, exit 2', async (_what, args, stdin, message) => {
    // Act
    const { code, stdout, stderr } = await runScript(INVOKE, args, { stdin });

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim()).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says in one line how to get a platform when none runs', async () => {
    // Prepare
    const env = commandEnv();
    delete env.KAFKA_BROKERS;
    delete env.DYNAMODB_ENDPOINT;

    // Act
    const { code, stderr } = await runScript(
      INVOKE,
      ['payment', '--event', '-'],
      { env, stdin: '{}' },
    );

    // Assess
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(
      /^error: no local platform is running from this checkout.*\. Fix: start one .*'npm run dev'/,
    );
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--inspect-brk: the sandbox waits for a debugger, which sees the function and pauses before the handler', async () => {
    // Prepare
    const file = eventFile(
      'health.json',
      await event('http', '--path', '/health/live'),
    );
    const invoke = start(INVOKE, [
      'order-api',
      '--event',
      file,
      '--inspect-brk=0',
    ]);
    const [, url, port] = await invoke.stderrMatch(
      /\[order-api\] debugger listening on (ws:\/\/127\.0\.0\.1:(\d+)\/\S+)/,
    );

    // Act 1: the target list a debugger (VS Code, Chrome) reads first.
    const targets = (await (
      await fetch(`http://127.0.0.1:${port}/json/list`, {
        signal: AbortSignal.timeout(10_000),
      })
    ).json()) as { webSocketDebuggerUrl: string }[];

    // Assess 1
    expect(targets.map((target) => target.webSocketDebuggerUrl)).toEqual([url]);

    // Act 2: attach, let it run, and wait for the pause.
    const session = await inspectorSession(url as string);
    const scripts = new Map<string, string>();
    session.on('Debugger.scriptParsed', (params) => {
      scripts.set(String(params.scriptId), String(params.url));
    });
    await session.send('Debugger.enable');
    const paused = session.next('Debugger.paused');
    await session.send('Runtime.runIfWaitingForDebugger');
    const { callFrames } = (await paused) as {
      callFrames: { location: { scriptId: string } }[];
    };

    // Assess 2: paused in the sandbox, the function's module loaded.
    const where = scripts.get(callFrames[0]?.location.scriptId ?? '');
    expect(where).toMatch(/\/local\/runtime\/lambda-worker\.ts$/);
    expect([...scripts.values()]).toContainEqual(
      expect.stringMatching(/\/functions\/order-api\.ts$/),
    );
    expect(invoke.stdout()).toBe('');

    // Act 3: resume.
    await session.send('Debugger.resume');
    const { code, stdout, stderr } = await invoke.finished;
    session.close();

    // Assess 3: the invocation completes as without a debugger.
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ statusCode: 200 });
  });
});

/**
 * A minimal Chrome DevTools Protocol client over Node's WebSocket; an answer or an
 * event that does not come within SETTLES_MS rejects.
 */
async function inspectorSession(url: string) {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener(
      'error',
      () => reject(new Error(`${url}: no connection`)),
      {
        once: true,
      },
    );
  });
  let id = 0;
  const replies = new Map<number, (result: unknown) => void>();
  const listeners = new Map<
    string,
    ((params: Record<string, unknown>) => void)[]
  >();
  socket.addEventListener('message', (message: MessageEvent) => {
    const data = JSON.parse(String(message.data)) as {
      id?: number;
      method?: string;
      params?: Record<string, unknown>;
      result?: unknown;
    };
    if (data.id !== undefined) replies.get(data.id)?.(data.result);
    if (data.method !== undefined) {
      for (const listener of listeners.get(data.method) ?? []) {
        listener(data.params ?? {});
      }
    }
  });
  const on = (
    method: string,
    listener: (params: Record<string, unknown>) => void,
  ) => {
    listeners.set(method, [...(listeners.get(method) ?? []), listener]);
  };
  return {
    on,
    send(method: string, params: Record<string, unknown> = {}) {
      id += 1;
      const sent = id;
      socket.send(JSON.stringify({ id: sent, method, params }));
      return deadline(
        new Promise<unknown>((resolve) => replies.set(sent, resolve)),
        `no answer to ${method}`,
      );
    },
    next(method: string) {
      return deadline(
        new Promise<Record<string, unknown>>((resolve) => on(method, resolve)),
        `no ${method}`,
      );
    },
    close: () => socket.close(),
  };
}

function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} within ${SETTLES_MS} ms`)),
        SETTLES_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
