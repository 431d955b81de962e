/**
 * `npm run dev`: the whole system on this machine. A real Apache Kafka broker and
 * DynamoDB Local (ports 9092 and 8000 unless KAFKA_PORT / DYNAMODB_PORT say otherwise;
 * 0 picks free ones; or existing services through KAFKA_BROKERS / DYNAMODB_ENDPOINT),
 * then the functions, event source mappings, HTTP API (port 3000, or PORT / --port)
 * and schedules, all read from the synthesized CDK template. `--demo` places a steady
 * trickle of orders; `--watch` reloads the functions when their sources change.
 * Ctrl-C stops everything in order.
 */
import { parseCommandLine } from '#platform/command-line.ts';
import { parsePort } from '#platform/ports.ts';
import { exitWithError, servePlatform } from '#platform/serve.ts';

const USAGE = `usage: npm run dev [-- OPTIONS]

Runs the whole system on this machine: a Kafka broker and DynamoDB Local, then every
function, event source mapping, HTTP API route and schedule of the synthesized CDK app.
Ctrl-C stops everything.

Options:
  --port N        the HTTP API's port (default: PORT, or 3000; 0 picks a free one)
  --stage NAME    the CDK stage to run (default: dev)
  --demo          place a steady trickle of orders, so that every path shows
  --watch         reload the functions when a file under functions/ changes
  -h, --help      print this and exit

Environment:
  KAFKA_PORT, DYNAMODB_PORT   the broker's and DynamoDB Local's ports (default 9092, 8000; 0 picks free ones)
  KAFKA_BROKERS               use this Kafka (host:port,...) and start no broker
  DYNAMODB_ENDPOINT           use this DynamoDB (e.g. http://127.0.0.1:4566) and start none
  PLATFORM_READY_TIMEOUT_MS   how long a server may take to start (default 60000)`;

const { values } = parseCommandLine(USAGE, {
  options: {
    port: { type: 'string' },
    stage: { type: 'string', default: 'dev' },
    demo: { type: 'boolean', default: false },
    watch: { type: 'boolean', default: false },
  },
});
const env = process.env;
const out = (line: string) => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
  const port =
    values.port !== undefined
      ? parsePort(values.port, '--port')
      : parsePort(env.PORT ?? '3000', 'PORT');
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
      const system = await startLocalSystem(platform, {
        port,
        stage: values.stage,
        watch: values.watch,
        log: out,
      });
      out(system.describe());
      out(
        `\nAdmin routes (IAM on AWS) need: Authorization: Bearer ${system.adminToken}\n`,
      );
      const demo = values.demo
        ? startDemo(system.url, platform.kafka.brokers, out)
        : undefined;
      return async () => {
        await demo?.stop();
        await system.stop();
      };
    },
  });
}

main().catch(exitWithError);
