/**
 * Functions invoked like Lambda (local/runtime/lambda.ts): one worker thread per
 * sandbox, warm reuse, the function's own environment, Lambda's context, failures
 * and timeouts as Lambda reports them, logs prefixed by function. The last test runs
 * a real function from the synthesized template against the local platform.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createTables } from '#platform/platform.ts';
import { pollUntil } from '#platform/wait.ts';
import {
  type InvokeResult,
  type LocalLambda,
  LocalLambdaStoppedError,
  startLocalLambda,
} from '../../../local/runtime/lambda.ts';
import {
  type LocalFunction,
  readSystem,
  synthesizeTemplate,
} from '../../../local/runtime/template.ts';
import { httpEvent } from '../http.ts';

const FIXTURES = 'test/integration/runtime/fixtures';

function fixture(overrides: Partial<LocalFunction> = {}): LocalFunction {
  const name = overrides.name ?? 'fixture';
  return {
    logicalId: 'FixtureFunction',
    name,
    entry: `${FIXTURES}/sandbox.ts`,
    handler: 'echo',
    environment: { AWS_REGION: 'eu-west-1', GREETING: 'hello' },
    timeoutSeconds: 30,
    memoryMb: 256,
    ...overrides,
  };
}

const started: LocalLambda[] = [];
function start(
  fn: LocalFunction,
  options?: Parameters<typeof startLocalLambda>[1],
): LocalLambda {
  const lambda = startLocalLambda(fn, { log: () => {}, ...options });
  started.push(lambda);
  return lambda;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((lambda) => lambda.stop()));
});

function success(result: InvokeResult) {
  if (!result.ok) {
    throw new Error(`${result.errorType}: ${result.errorMessage}`);
  }
  return result;
}

function failure(result: InvokeResult) {
  if (result.ok) throw new Error(`expected a failure, got ${result.result}`);
  return result;
}

interface Echo {
  sandboxId: string;
  count: number;
  event: unknown;
  greeting: string | null;
  envKeys: string[];
  context: Record<string, unknown> & { remainingMs: number };
}

describe('startLocalLambda', () => {
  it('loads the module once and reuses it while warm', async () => {
    // Prepare
    const lambda = start(fixture());

    // Act
    const first = success(await lambda.invoke({ n: 1 }));
    const second = success(await lambda.invoke({ n: 2 }));

    // Assess
    const a = first.result as Echo;
    const b = second.result as Echo;
    expect(b.sandboxId).toBe(a.sandboxId);
    expect([a.count, b.count]).toEqual([1, 2]);
    expect(b.event).toEqual({ n: 2 });
    expect(first.initDurationMs).toBeGreaterThanOrEqual(0);
    expect(second.initDurationMs).toBeUndefined();
  });

  it('loads the code again after reload(): the next invocation is a cold start', async () => {
    // Prepare
    const lambda = start(fixture());
    const warm = success(await lambda.invoke({})).result as Echo;

    // Act
    await lambda.reload();
    const reloaded = success(await lambda.invoke({}));

    // Assess
    const fresh = reloaded.result as Echo;
    expect(fresh.sandboxId).not.toBe(warm.sandboxId);
    expect(fresh.count).toBe(1);
    expect(reloaded.initDurationMs).toBeGreaterThanOrEqual(0);
  });

  it('gives each function its own environment, and only that', async () => {
    // Prepare
    const english = start(fixture({ name: 'english' }));
    const french = start(
      fixture({
        name: 'french',
        environment: { AWS_REGION: 'eu-west-3', GREETING: 'bonjour' },
      }),
    );

    // Act
    const [en, fr] = await Promise.all([english.invoke({}), french.invoke({})]);

    // Assess
    const enEcho = success(en).result as Echo;
    const frEcho = success(fr).result as Echo;
    expect(enEcho.greeting).toBe('hello');
    expect(frEcho.greeting).toBe('bonjour');
    expect(enEcho.sandboxId).not.toBe(frEcho.sandboxId);
    // The test runner's own variables do not leak into the sandbox.
    expect(frEcho.envKeys).toEqual([
      'AWS_LAMBDA_LOG_STREAM_NAME',
      'AWS_REGION',
      'GREETING',
    ]);
    expect(process.env.GREETING).toBeUndefined();
  });

  it("passes Lambda's context, with the remaining time of the timeout", async () => {
    // Prepare
    const lambda = start(fixture({ name: 'payment', memoryMb: 384 }));

    // Act
    const first = success(await lambda.invoke({})).result as Echo;
    const second = success(await lambda.invoke({})).result as Echo;

    // Assess
    expect(first.context).toMatchObject({
      functionName: 'payment',
      functionVersion: '$LATEST',
      invokedFunctionArn:
        'arn:aws:lambda:eu-west-1:000000000000:function:payment',
      memoryLimitInMB: '384',
      logGroupName: '/aws/lambda/payment',
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(first.context.logStreamName).toMatch(
      /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/,
    );
    expect(first.context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.context.awsRequestId).not.toBe(first.context.awsRequestId);
    expect(first.context.remainingMs).toBeGreaterThan(0);
    expect(first.context.remainingMs).toBeLessThanOrEqual(30_000);
  });

  it('reports a thrown error with its name and message, and stays warm', async () => {
    // Prepare
    const lambda = start(fixture({ handler: 'fail' }));

    // Act
    const outcome = failure(await lambda.invoke({}));

    // Assess
    expect(outcome).toMatchObject({
      errorType: 'PaymentDeclinedError',
      errorMessage: 'card declined for order o-1',
      timedOut: false,
    });
    const again = failure(await lambda.invoke({}));
    expect(again.initDurationMs).toBeUndefined();
  });

  it('fails an invocation past the timeout as Lambda does', async () => {
    // Prepare
    const lines: string[] = [];
    const hanging = fixture({ handler: 'hang', timeoutSeconds: 1 });
    const lambda = start(hanging, { log: (line) => lines.push(line) });

    // Act
    const outcome = failure(await lambda.invoke({}));

    // Assess
    expect(outcome.errorType).toBe('Sandbox.Timedout');
    expect(outcome.timedOut).toBe(true);
    expect(outcome.errorMessage).toMatch(
      /^RequestId: [0-9a-f-]{36} Error: Task timed out after \d+\.\d{2} seconds$/,
    );
    expect(lines.some((line) => /Task timed out after/.test(line))).toBe(true);
  });

  it('terminates a timed-out sandbox: the next invocation is a cold start', async () => {
    // Prepare: a short timeout; `busy` holds longer than it on demand.
    const lambda = start(fixture({ handler: 'busy', timeoutSeconds: 1 }));
    const before = success(await lambda.invoke({ holdMs: 0 })).result as {
      sandboxId: string;
    };

    // Act
    const timedOut = failure(await lambda.invoke({ holdMs: 60_000 }));
    const after = success(await lambda.invoke({ holdMs: 0 }));

    // Assess
    expect(timedOut.timedOut).toBe(true);
    expect((after.result as { sandboxId: string }).sandboxId).not.toBe(
      before.sandboxId,
    );
    expect(after.initDurationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a cold-start failure with its error, and retries with a fresh sandbox', async () => {
    // Prepare: the configuration the module reads at load time is missing.
    const lines: string[] = [];
    const lambda = start(
      fixture({
        name: 'misconfigured',
        entry: `${FIXTURES}/config-at-init.ts`,
        handler: 'handler',
        environment: {},
      }),
      { log: (line) => lines.push(line) },
    );

    // Act
    const first = failure(await lambda.invoke({}));
    const second = failure(await lambda.invoke({}));

    // Assess
    expect(first.errorType).toBe('ConfigError');
    expect(first.errorMessage).toContain(
      'cold start of misconfigured failed: ConfigError: invalid configuration',
    );
    expect(first.errorMessage).toContain('FIXTURE_TABLE');
    expect(second.initDurationMs).toBeGreaterThanOrEqual(0);
    expect(
      lines.filter((line) => line.includes('cold start failed')),
    ).toHaveLength(2);
  });

  it('loads the same module when its configuration is there', async () => {
    // Prepare
    const lambda = start(
      fixture({
        entry: `${FIXTURES}/config-at-init.ts`,
        handler: 'handler',
        environment: { FIXTURE_TABLE: 'orders-local' },
      }),
    );

    // Act
    const outcome = success(await lambda.invoke({}));

    // Assess
    expect(outcome.result).toEqual({
      table: 'orders-local',
      fromEnv: 'orders-local',
    });
  });

  it('names a handler that the module does not export', async () => {
    // Prepare
    const lambda = start(fixture({ handler: 'missing' }));

    // Act
    const outcome = failure(await lambda.invoke({}));

    // Assess
    expect(outcome.errorType).toBe('Runtime.HandlerNotFound');
    expect(outcome.errorMessage).toMatch(
      /sandbox\.ts\.missing is undefined or not exported/,
    );
  });

  it('reports a crashed sandbox and starts a new one', async () => {
    // Prepare
    const lambda = start(fixture({ handler: 'crash' }));

    // Act
    const outcome = failure(await lambda.invoke({}));

    // Assess
    expect(outcome.errorType).toBe('Runtime.ExitError');
    expect(outcome.errorMessage).toContain('boom outside the handler');
    const next = failure(await lambda.invoke({}));
    expect(next.initDurationMs).toBeGreaterThanOrEqual(0);
  });

  it('replaces a sandbox that crashed while idle', async () => {
    // Prepare
    const lines: string[] = [];
    const lambda = start(fixture({ handler: 'lateCrash' }), {
      log: (line) => lines.push(line),
    });
    const first = success(await lambda.invoke({}));
    const crashed = await pollUntil(
      () => (lines.some((l) => l.includes('late boom')) ? true : undefined),
      10_000,
      10,
    );

    // Act
    const next = success(await lambda.invoke({}));

    // Assess
    expect(crashed).toBe(true);
    expect((next.result as { sandboxId: string }).sandboxId).not.toBe(
      (first.result as { sandboxId: string }).sandboxId,
    );
    expect(next.initDurationMs).toBeGreaterThanOrEqual(0);
  });

  it('prefixes every log line with the function name', async () => {
    // Prepare
    const lines: string[] = [];
    const lambda = start(fixture({ name: 'payment', handler: 'chatty' }), {
      log: (line) => lines.push(line),
    });

    // Act
    success(await lambda.invoke({ marker: 'm-42' }));

    // Assess
    const logged = await pollUntil(
      () => (lines.length >= 2 ? lines : undefined),
      5_000,
      10,
    );
    expect(logged).toBeDefined();
    const json = lines.find((line) => line.includes('"hello"'));
    expect(json).toBeDefined();
    expect(json?.startsWith('[payment] {')).toBe(true);
    expect(JSON.parse((json as string).slice('[payment] '.length))).toEqual({
      level: 'INFO',
      message: 'hello',
      marker: 'm-42',
    });
    expect(lines).toContain('[payment] plain stderr line m-42');
  });

  it('runs one event at a time per sandbox, and more with concurrency', async () => {
    // Prepare
    const serial = start(fixture({ name: 'serial', handler: 'busy' }));
    const parallel = start(fixture({ name: 'parallel', handler: 'busy' }), {
      concurrency: 2,
    });
    type Busy = { sandboxId: string; overlapping: number };

    // Act
    const serialResults = await Promise.all(
      [1, 2, 3].map(() => serial.invoke({ holdMs: 20 })),
    );
    const parallelResults = await Promise.all(
      [1, 2].map(() => parallel.invoke({ holdMs: 20 })),
    );

    // Assess
    const s = serialResults.map((r) => success(r).result as Busy);
    expect(s.map((r) => r.overlapping)).toEqual([1, 1, 1]);
    expect(new Set(s.map((r) => r.sandboxId)).size).toBe(1);
    const p = parallelResults.map((r) => success(r).result as Busy);
    expect(new Set(p.map((r) => r.sandboxId)).size).toBe(2);
  });

  it('refuses invocations once stopped', async () => {
    // Prepare
    const lambda = start(fixture());
    success(await lambda.invoke({}));

    // Act
    await lambda.stop();

    // Assess
    await expect(lambda.invoke({})).rejects.toBeInstanceOf(
      LocalLambdaStoppedError,
    );
  });
});

describe('a function of the synthesized template', () => {
  it('answers GET /health against the local broker and DynamoDB', async () => {
    // Prepare
    const system = readSystem(synthesizeTemplate('dev'), {
      brokers: inject('kafkaBrokers'),
      dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    await createTables(
      inject('dynamodbEndpoint'),
      system.tables.map((table) => table.createTableInput),
    );
    const orderApi = system.functions.find((fn) => fn.name === 'order-api');
    if (!orderApi) throw new Error('no order-api in the template');
    const lambda = start({
      ...orderApi,
      environment: {
        ...orderApi.environment,
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
    });

    // Act
    const outcome = success(await lambda.invoke(httpEvent('GET', '/health')));

    // Assess
    expect(outcome.result).toMatchObject({ statusCode: 200 });
  });
});
