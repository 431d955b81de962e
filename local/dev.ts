/**
 * `npm run dev`: the whole system on this machine. A real Apache Kafka broker and
 * DynamoDB Local (ports 9092 and 8000 unless KAFKA_PORT / DYNAMODB_PORT say otherwise;
 * 0 picks free ones; or existing services through KAFKA_BROKERS / DYNAMODB_ENDPOINT),
 * then the functions, event source mappings, HTTP API (port 3000, or PORT / --port)
 * and schedules, all read from the synthesized CDK template. `--demo` places a steady
 * trickle of orders; `--watch` reloads the functions when their sources change;
 * `--env` sets a function's variables and `--chaos` makes a share of its invocations
 * fail or time out (docs/local-faults.md). Ctrl-C stops everything in order.
 */
import { parseCommandLine, refuseArguments } from '#platform/command-line.ts';
import { PlatformError } from '#platform/errors.ts';
import { parsePort } from '#platform/ports.ts';
import { exitWithError, servePlatform } from '#platform/serve.ts';
import type { Demo } from './demo.ts';
import { compactLogLine } from './log-lines.ts';
import { parseAdminToken } from './runtime/admin-token.ts';
import {
  checkFunctionNames,
  type FunctionOverrides,
  OverrideSyntaxError,
  readOverrides,
  splitEntries,
  UnknownFunctionError,
} from './runtime/overrides.ts';

const USAGE = `usage: npm run dev [-- OPTIONS]

Runs the whole system on this machine: a Kafka broker and DynamoDB Local, then every
function, event source mapping, HTTP API route and schedule of the synthesized CDK app.
Ctrl-C stops everything.

Options:
  --port N        the HTTP API's port (default: PORT, or 3000; 0 picks a free one)
  --stage NAME    the CDK stage to run (default: dev)
  --demo          place a steady trickle of orders, so that every path shows,
                  one line per order once it settles
  --watch         reload the functions when a file under functions/ changes
  --env FN:NAME=VALUE
                  set variable NAME of function FN over the template's (repeatable),
                  e.g. --env payment:GATEWAY_TRANSIENT_FAILURES=3
  --chaos FN:fail=SHARE[,timeout=SHARE][,when=before|after][,seed=N]
                  make that share (0 to 1) of FN's invocations throw, or run until
                  FN's timeout, before (default) or after its handler; seed repeats
                  a run (default: drawn, and shown at start-up). Repeatable, one
                  function each. e.g. --chaos order-events:fail=0.2,seed=7
                  FN is a function's local name, as listed at start-up: payment,
                  order-api... (see docs/local-faults.md)
  --admin-token T the token the admin routes (IAM on AWS) demand as
                  Authorization: Bearer T; at least 16 printable characters
                  (default: LOCAL_ADMIN_TOKEN, or one drawn at each start)
  -h, --help      print this and exit

Environment:
  KAFKA_PORT, DYNAMODB_PORT   the broker's and DynamoDB Local's ports (default 9092, 8000; 0 picks free ones)
  KAFKA_BROKERS               use this Kafka (host:port,...) and start no broker
  DYNAMODB_ENDPOINT           use this DynamoDB (e.g. http://127.0.0.1:4566) and start none
  PLATFORM_READY_TIMEOUT_MS   how long a server may take to start (default 60000)
  LOCAL_FUNCTION_ENV          --env values, separated by spaces (the command line's win)
  LOCAL_CHAOS                 --chaos values, separated by spaces (the command line's win)
  LOCAL_ADMIN_TOKEN           the admin token, as --admin-token (the command line's wins)
  LOCAL_LOG_FORMAT            compact (default: [function] LEVEL message key=value) or
                              json (the functions' log lines as CloudWatch gets them)`;

const { values } = parseCommandLine(USAGE, {
  options: {
    port: { type: 'string' },
    stage: { type: 'string', default: 'dev' },
    demo: { type: 'boolean', default: false },
    watch: { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
    chaos: { type: 'string', multiple: true, default: [] },
    'admin-token': { type: 'string' },
  },
});
const env = process.env;
const overrides = readOverridesOrRefuse();
const out = (line: string) => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
  const port =
    values.port !== undefined
      ? parsePort(values.port, '--port')
      : parsePort(env.PORT ?? '3000', 'PORT');
  const admin = fixedAdminToken();
  const logFormat = env.LOCAL_LOG_FORMAT ?? 'compact';
  if (logFormat !== 'json' && logFormat !== 'compact') {
    throw new PlatformError(
      `LOCAL_LOG_FORMAT=${logFormat} is not a log format`,
      'set LOCAL_LOG_FORMAT to compact (the default) or json (the lines as the functions write them)',
    );
  }
  // Overrides name functions: checked against the template before anything starts.
  const template = hasOverrides(overrides)
    ? await checkedTemplate(values.stage, overrides)
    : undefined;
  await servePlatform({
    title: 'npm run dev',
    kafkaPort: env.KAFKA_PORT === undefined ? 9092 : undefined,
    dynamodbPort: env.DYNAMODB_PORT === undefined ? 8000 : undefined,
    otherPorts: [{ port, setting: 'PORT (or --port)' }],
    onReady: async (platform) => {
      // Loaded once the platform is up: the runtime brings in the CDK app, which a
      // command line that fails early (a taken port, --help) need not wait for.
      const { startLocalSystem } = await import('./runtime/system.ts');
      const { startDemo } = await import('./demo.ts');
      let demo: Demo | undefined;
      const system = await startLocalSystem(platform, {
        port,
        stage: values.stage,
        watch: values.watch,
        // The demo reads the log too: the payment function's retries, per order.
        log: (line) => {
          demo?.observe(line);
          out(logFormat === 'json' ? line : compactLogLine(line));
        },
        ...(template ? { template } : {}),
        environment: overrides.environment,
        chaos: overrides.chaos,
        ...(admin ? { adminToken: admin.token } : {}),
      });
      out(system.describe());
      out(
        `\nAdmin routes (IAM on AWS) need: Authorization: Bearer ${system.adminToken}`,
      );
      out(
        admin
          ? `  (from ${admin.setting})\n`
          : '  (drawn for this run: LOCAL_ADMIN_TOKEN or --admin-token keeps one)\n',
      );
      demo = values.demo
        ? startDemo(system.url, platform.kafka.brokers, out, {
            adminToken: system.adminToken,
          })
        : undefined;
      return async () => {
        await demo?.stop();
        await system.stop();
      };
    },
  });
}

/** The admin token `--admin-token` or LOCAL_ADMIN_TOKEN fixes, checked; none: drawn. */
function fixedAdminToken(): { token: string; setting: string } | undefined {
  const [raw, setting] =
    values['admin-token'] !== undefined
      ? [values['admin-token'], '--admin-token']
      : [env.LOCAL_ADMIN_TOKEN, 'LOCAL_ADMIN_TOKEN'];
  if (raw === undefined) return undefined;
  return { token: parseAdminToken(raw, setting), setting };
}

/** LOCAL_FUNCTION_ENV and LOCAL_CHAOS, then `--env` and `--chaos`; exit 2 on a mistake. */
function readOverridesOrRefuse(): FunctionOverrides {
  try {
    return readOverrides({
      env: [...splitEntries(env.LOCAL_FUNCTION_ENV), ...values.env],
      chaos: [...splitEntries(env.LOCAL_CHAOS), ...values.chaos],
    });
  } catch (error) {
    if (error instanceof OverrideSyntaxError) {
      refuseArguments(error.message, USAGE);
    }
    throw error;
  }
}

function hasOverrides(given: FunctionOverrides): boolean {
  return (
    Object.keys(given.environment).length > 0 ||
    Object.keys(given.chaos).length > 0
  );
}

/** The stage's template, once every function the overrides name is in it. */
async function checkedTemplate(stage: string, given: FunctionOverrides) {
  const { localFunctionNames, synthesizeTemplate } = await import(
    './runtime/template.ts'
  );
  const template = synthesizeTemplate(stage);
  try {
    checkFunctionNames(given, localFunctionNames(template));
  } catch (error) {
    if (error instanceof UnknownFunctionError) refuseArguments(error.message);
    throw error;
  }
  return template;
}

main().catch(exitWithError);
