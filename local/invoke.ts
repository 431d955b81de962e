/**
 * `npm run invoke -- FUNCTION --event FILE|-`: one invocation of one function, in
 * the sandbox `npm run dev` runs it in (a worker thread with the template's
 * environment, timeout, memory and a Lambda context: ./runtime/lambda.ts), like
 * `sam local invoke -e`. The result goes to stdout as JSON, the function's logs to
 * stderr. It uses the platform running from this checkout, or KAFKA_BROKERS and
 * DYNAMODB_ENDPOINT; the stack's topics and tables are created if missing
 * (docs/local-commands.md). `--inspect-brk` makes the sandbox debuggable
 * (docs/local-debugging.md).
 */
import { readFile } from 'node:fs/promises';
import { parseCommandLine, refuseArguments } from '#platform/command-line.ts';
import { PlatformError } from '#platform/errors.ts';
import { readInstance } from '#platform/instance.ts';
import { checkPorts } from '#platform/ports.ts';
import { exitWithError, instanceFile } from '#platform/serve.ts';
import {
  invokeEnvironment,
  takeInspectFlags,
} from './runtime/invoke-options.ts';
import type { InvokeResult } from './runtime/lambda.ts';
import { OverrideSyntaxError, splitEntries } from './runtime/overrides.ts';
import type { PlatformEndpoints } from './runtime/system.ts';

const USAGE = `usage: npm run invoke -- FUNCTION --event FILE|- [OPTIONS]

Runs one invocation of FUNCTION (its local name, as npm run dev lists it: payment,
order-api, order-events, dlq-reprocessor, dlq-redrive, dlq-admin, outbox-relay) in
the sandbox npm run dev runs it in, with the event in FILE (or stdin for -). Prints
the function's result as JSON on stdout and exits 0; a function error prints
{"errorType", "errorMessage"} as Lambda reports it and exits 1. Logs go to stderr.

It needs Kafka and DynamoDB: the platform running from this checkout (npm run dev,
or npm run platform -- start), or KAFKA_BROKERS and DYNAMODB_ENDPOINT. The stack's
topics and tables are created if missing. Make events with npm run event.

Options:
  --event FILE|-        the event, as JSON: a file, or - for stdin (required)
  --stage NAME          the CDK stage whose function runs (default: dev)
  --env NAME=VALUE      set a variable of the function over the template's
                        (repeatable), e.g. --env GATEWAY_FAIL_ALL=true
  --inspect-brk[=PORT]  open a debugger in the sandbox (port 9229; 0 picks a free
                        one), wait for one to attach, and pause just before the
                        handler; timeouts are off (docs/local-debugging.md)
  --inspect-wait[=PORT] the same, without the pause: your breakpoints stop it
  -h, --help            print this and exit

Environment:
  KAFKA_BROKERS, DYNAMODB_ENDPOINT   use these instead of the running platform
  LOCAL_FUNCTION_ENV                 FN:NAME=VALUE entries, as npm run dev reads them
  LOCAL_METRICS=1                    print the function's CloudWatch metrics (EMF)

Examples:
  npm run -s event -- msk --order > order.json
  npm run invoke -- payment --event order.json
  npm run -s event -- http --order | npm run invoke -- order-api --event -`;

/** How long provisioning topics and tables may take before the platform counts as down. */
const PROVISION_TIMEOUT_MS = 60_000;

const { args, inspect } = readInspectFlags();
const { values, positionals } = parseCommandLine(
  USAGE,
  {
    allowPositionals: true,
    options: {
      event: { type: 'string' },
      stage: { type: 'string', default: 'dev' },
      env: { type: 'string', multiple: true, default: [] },
    },
  },
  args,
);
const err = (line: string) => {
  process.stderr.write(`${line}\n`);
};

function readInspectFlags(): ReturnType<typeof takeInspectFlags> {
  try {
    return takeInspectFlags(process.argv.slice(2));
  } catch (error) {
    if (error instanceof OverrideSyntaxError) refuseArguments(error.message);
    throw error;
  }
}

/** The event: JSON from a file or stdin; a mistake exits 2 naming it. */
async function readEvent(source: string | undefined): Promise<unknown> {
  if (source === undefined) {
    refuseArguments('--event FILE|- is required', USAGE);
  }
  let text: string;
  if (source === '-') {
    if (process.stdin.isTTY) {
      refuseArguments(
        '--event -: stdin is a terminal; pipe an event in, e.g. npm run -s event -- msk --order | npm run invoke -- payment --event -',
      );
    }
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = await readFile(source, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      refuseArguments(
        `--event ${source}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(error)})`}; make one with npm run event`,
      );
    }
  }
  if (text.trim() === '') {
    refuseArguments(
      `--event ${source === '-' ? '- (stdin)' : source}: empty; an event is JSON`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    refuseArguments(
      `--event ${source === '-' ? '- (stdin)' : source}: not JSON (${(error as Error).message})`,
    );
  }
}

/** The platform running from this checkout, or the one the environment names. */
function platformEndpoints(): PlatformEndpoints {
  const record = readInstance(instanceFile());
  // Set but empty counts as unset, as in a shell's `KAFKA_BROKERS= npm run ...`.
  const brokers =
    (process.env.KAFKA_BROKERS || undefined)?.split(',') ??
    record?.kafkaBrokers;
  const endpoint =
    process.env.DYNAMODB_ENDPOINT || record?.dynamodbEndpoint || undefined;
  if (!brokers || !endpoint) {
    throw new PlatformError(
      'no local platform is running from this checkout, and KAFKA_BROKERS / DYNAMODB_ENDPOINT are not set',
      "start one in another terminal with 'npm run dev' (or 'npm run platform -- start'), then invoke again",
    );
  }
  return { kafka: { brokers }, dynamodb: { endpoint } };
}

/** Resolves with `promise`, or rejects with `error()` after `ms`. */
async function within<T>(
  promise: Promise<T>,
  ms: number,
  error: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Says how the invocation went on stderr, and prints its answer on stdout. */
function printOutcome(name: string, outcome: InvokeResult): void {
  const init =
    outcome.initDurationMs === undefined
      ? ''
      : `, init ${outcome.initDurationMs.toFixed(0)} ms`;
  err(
    `[invoke] ${name}: ${outcome.ok ? 'succeeded' : `failed (${outcome.errorType})`} in ${outcome.durationMs.toFixed(0)} ms${init}`,
  );
  if (outcome.ok) {
    process.stdout.write(`${JSON.stringify(outcome.result)}\n`);
    return;
  }
  process.stdout.write(
    `${JSON.stringify({ errorType: outcome.errorType, errorMessage: outcome.errorMessage })}\n`,
  );
  process.exitCode = 1;
}

async function main(): Promise<void> {
  const [name, ...extra] = positionals;
  if (name === undefined) {
    refuseArguments('name the FUNCTION to invoke, e.g. payment', USAGE);
  }
  if (extra.length > 0) refuseArguments(`unexpected argument '${extra[0]}'`);
  const event = await readEvent(values.event);
  let environment: Record<string, string>;
  try {
    environment = invokeEnvironment(name, {
      fromEnvironment: splitEntries(process.env.LOCAL_FUNCTION_ENV),
      fromArguments: values.env,
    });
  } catch (error) {
    if (error instanceof OverrideSyntaxError) refuseArguments(error.message);
    throw error;
  }

  // A taken inspector port fails now, naming the fix, not in the sandbox later.
  if (inspect) {
    await checkPorts([
      {
        port: inspect.port,
        setting: '--inspect-brk=PORT (or --inspect-wait=PORT)',
      },
    ]);
  }

  // The CDK app and the runtime load only once the command line is known good.
  const { localFunctionNames, readSystem, synthesizeTemplate } = await import(
    './runtime/template.ts'
  );
  const template = synthesizeTemplate(values.stage);
  const names = localFunctionNames(template);
  if (!names.includes(name)) {
    refuseArguments(
      `no function named ${name}; the functions are ${names.join(', ')}`,
    );
  }
  const platform = platformEndpoints();
  const model = readSystem(template, {
    brokers: platform.kafka.brokers,
    dynamodbEndpoint: platform.dynamodb.endpoint,
  });
  const fn = model.functions.find((candidate) => candidate.name === name);
  if (!fn) throw new Error(`${name} is in the template but was not read`);

  const { createStackResources } = await import('./runtime/stack-resources.ts');
  // As npm run dev does: the function may publish to or read from any of the
  // stack's topics and tables.
  await within(
    createStackResources(platform, model),
    PROVISION_TIMEOUT_MS,
    () =>
      new PlatformError(
        `Kafka at ${platform.kafka.brokers.join(',')} or DynamoDB at ${platform.dynamodb.endpoint} did not answer within ${PROVISION_TIMEOUT_MS / 1000} s`,
        "check that the platform runs ('npm run platform -- status'), or fix KAFKA_BROKERS / DYNAMODB_ENDPOINT",
      ),
  );

  const { startLocalLambda } = await import('./runtime/lambda.ts');
  const lambda = startLocalLambda(
    {
      ...fn,
      environment: {
        // As npm run dev: no CloudWatch metrics blob per invocation unless asked.
        ...(process.env.LOCAL_METRICS === '1'
          ? {}
          : { POWERTOOLS_METRICS_DISABLED: 'true' }),
        ...fn.environment,
        ...environment,
      },
    },
    { log: err, ...(inspect ? { inspect } : {}) },
  );
  const outcome = await lambda.invoke(event).finally(() => lambda.stop());
  printOutcome(name, outcome);
}

main().catch(exitWithError);
