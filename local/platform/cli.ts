/**
 * The local platform's command line (`npm run platform -- <command>`):
 *
 *   fetch                          fetch Kafka and DynamoDB Local jars (first use only)
 *   start [--kafka-port N] [--dynamodb-port N]
 *                                  run both in the foreground until Ctrl-C (free ports by default)
 *   status                         show the running instance of this checkout
 *   stop                           stop it
 *   create-topic NAME [--partitions N]
 *   create-table NAME --key PK[,SK]
 *
 * create-topic and create-table act on the running instance, or on KAFKA_BROKERS /
 * DYNAMODB_ENDPOINT when set.
 */
import { DYNAMODB_LOCAL, ensureArtifacts, KAFKA } from './artifacts.ts';
import { parseCommandLine } from './command-line.ts';
import { PlatformError } from './errors.ts';
import { readInstance } from './instance.ts';
import { findJava } from './java.ts';
import { createTables, createTopics } from './platform.ts';
import { parsePort } from './ports.ts';
import { exitWithError, instanceFile, servePlatform } from './serve.ts';
import { pollUntil } from './wait.ts';

const USAGE = `usage: npm run platform -- COMMAND [OPTIONS]

Commands:
  fetch                             fetch the Kafka and DynamoDB Local jars (first use only)
  start [--kafka-port N] [--dynamodb-port N]
                                    run both in the foreground until Ctrl-C (free ports by default)
  status                            show the instance running from this checkout
  stop                              stop it
  create-topic NAME [--partitions N]
  create-table NAME --key PK[,SK]

create-topic and create-table act on the running instance, or on KAFKA_BROKERS /
DYNAMODB_ENDPOINT when set. -h, --help prints this.`;

/** The fix for a command line that names no command, or a command without its arguments. */
const SEE_USAGE =
  "see 'npm run platform -- --help' for the commands and their arguments";

const { positionals, values } = parseCommandLine(USAGE, {
  allowPositionals: true,
  options: {
    'kafka-port': { type: 'string' },
    'dynamodb-port': { type: 'string' },
    partitions: { type: 'string', default: '1' },
    key: { type: 'string' },
  },
});
const [command, name] = positionals;
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function running() {
  const record = readInstance(instanceFile());
  const brokers = process.env.KAFKA_BROKERS?.split(',') ?? record?.kafkaBrokers;
  const endpoint = process.env.DYNAMODB_ENDPOINT ?? record?.dynamodbEndpoint;
  return { record, brokers, endpoint };
}

function notRunning(): never {
  throw new PlatformError(
    'no local platform is running from this checkout',
    "start one with 'npm run dev' or 'npm run platform -- start', " +
      'or set KAFKA_BROKERS / DYNAMODB_ENDPOINT',
  );
}

const optionalPort = (raw: string | undefined, option: string) =>
  raw === undefined ? undefined : parsePort(raw, option);

async function main(): Promise<void> {
  switch (command) {
    case 'fetch': {
      const java = findJava();
      for (const component of [KAFKA, DYNAMODB_LOCAL]) {
        const dir = await ensureArtifacts(component, { java, log: out });
        out(`${component.title}: ${dir}`);
      }
      return;
    }
    case 'start':
      return servePlatform({
        title: 'the local platform',
        kafkaPort: optionalPort(values['kafka-port'], '--kafka-port'),
        dynamodbPort: optionalPort(values['dynamodb-port'], '--dynamodb-port'),
      });
    case 'status': {
      const { record } = running();
      out(record ? JSON.stringify(record, null, 2) : 'not running');
      return;
    }
    case 'stop': {
      const { record } = running();
      if (!record) return out('not running');
      process.kill(record.pid, 'SIGTERM');
      const gone = await pollUntil(
        () => (readInstance(instanceFile()) ? undefined : true),
        30_000,
      );
      if (!gone) {
        throw new PlatformError(
          `pid ${record.pid} did not stop within 30 s`,
          `kill it with 'kill -9 ${record.pid}' (its servers stop with it)`,
        );
      }
      return out('stopped');
    }
    case 'create-topic': {
      const { brokers } = running();
      if (!name)
        throw new PlatformError('create-topic needs a NAME', SEE_USAGE);
      if (!brokers) notRunning();
      await createTopics(brokers, [
        { name, partitions: Number(values.partitions) },
      ]);
      return out(`topic ${name} (${values.partitions} partitions) exists`);
    }
    case 'create-table': {
      const { endpoint } = running();
      const [pk, sk] = values.key?.split(',') ?? [];
      if (!name || !pk)
        throw new PlatformError('create-table needs NAME and --key', SEE_USAGE);
      if (!endpoint) notRunning();
      const keys = sk ? [pk, sk] : [pk];
      await createTables(endpoint, [
        {
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: keys.map((key, i) => ({
            AttributeName: key,
            KeyType: i === 0 ? 'HASH' : 'RANGE',
          })),
          AttributeDefinitions: keys.map((key) => ({
            AttributeName: key,
            AttributeType: 'S',
          })),
        },
      ]);
      return out(`table ${name} exists`);
    }
    default:
      throw new PlatformError(
        command ? `unknown command '${command}'` : 'no command given',
        SEE_USAGE,
      );
  }
}

main().catch(exitWithError);
