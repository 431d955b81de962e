/**
 * `npm run dev`: the whole system on this machine. A real Apache Kafka broker and
 * DynamoDB Local (ports 9092 and 8000 unless KAFKA_PORT / DYNAMODB_PORT say otherwise;
 * 0 picks free ones; or existing services through KAFKA_BROKERS / DYNAMODB_ENDPOINT),
 * then the functions, event source mappings, HTTP API (port 3000, or PORT / --port)
 * and schedules, all read from the synthesized CDK template. `--demo` places a steady
 * trickle of orders; `--watch` reloads the functions when their sources change.
 * Ctrl-C stops everything in order.
 */
import { parseArgs } from 'node:util';
import { exitWithError, servePlatform } from '#platform/serve.ts';
import { startDemo } from './demo.ts';
import { startLocalSystem } from './runtime/system.ts';

const { values } = parseArgs({
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

servePlatform({
  title: 'npm run dev',
  kafkaPort: env.KAFKA_PORT === undefined ? 9092 : undefined,
  dynamodbPort: env.DYNAMODB_PORT === undefined ? 8000 : undefined,
  onReady: async (platform) => {
    const system = await startLocalSystem(platform, {
      port: Number(values.port ?? env.PORT ?? 3000),
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
}).catch(exitWithError);
