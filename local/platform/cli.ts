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
 *   produce TOPIC [--key K] [--header NAME=VALUE]... [--partition N]
 *           [--value V | --json-lines]
 *                                  produce one record, or one a line of stdin
 *   tail TOPIC [--from-beginning] [--max N] [--json]
 *                                  print records as they arrive until Ctrl-C
 *
 * Every command but fetch, start, status and stop acts on the running instance, or on
 * KAFKA_BROKERS / DYNAMODB_ENDPOINT when set. produce lives in topic-io.ts, tail in
 * topic-tail.ts, their formats in docs/local-platform-cli.md.
 */
import { DYNAMODB_LOCAL, ensureArtifacts, KAFKA } from './artifacts.ts';
import { parseCommandLine } from './command-line.ts';
import { PlatformError } from './errors.ts';
import { readInstance } from './instance.ts';
import { findJava } from './java.ts';
import { createTables, createTopics } from './platform.ts';
import { parsePort } from './ports.ts';
import { exitWithError, instanceFile, servePlatform } from './serve.ts';
import { produceRecords, readRecords } from './topic-io.ts';
import { parseCount, parseHeaders } from './topic-records.ts';
import { stopSignal, tailTopic } from './topic-tail.ts';
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
  produce TOPIC [--key K] [--header NAME=VALUE]... [--partition N]
          [--value V | --json-lines]
                                    produce one record (--value), or one a line of
                                    stdin: the line is the value; with --json-lines
                                    it is {"key":..,"value":..,"headers":{..}}.
                                    Prints each record's partition and offset.
  tail TOPIC [--from-beginning] [--max N] [--json]
                                    print records (key, headers, value; JSON pretty)
                                    from now on, until Ctrl-C or N records; --json
                                    prints one JSON object a line

Examples:
  npm run platform -- produce my.topic --key k1 --header event-type=Test --value '{"a":1}'
  printf '%s\\n' one two | npm run platform -- produce my.topic
  npm run platform -- tail order.placed.v1 --from-beginning

All but fetch, start, status and stop act on the running instance, or on
KAFKA_BROKERS / DYNAMODB_ENDPOINT when set. -h, --help prints this.`;

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
    value: { type: 'string' },
    header: { type: 'string', multiple: true, default: [] },
    partition: { type: 'string' },
    'json-lines': { type: 'boolean', default: false },
    'from-beginning': { type: 'boolean', default: false },
    max: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const [command, name] = positionals;
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
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
const optionalCount = (raw: string | undefined, option: string, min = 0) =>
  raw === undefined ? undefined : parseCount(raw, option, min);

/** `stop`: stops the instance running from this checkout, and waits until it is gone. */
async function stopInstance(): Promise<void> {
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

/** `create-table NAME --key PK[,SK]`: a table keyed by strings, on demand. */
async function createTable(): Promise<void> {
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

/** `produce TOPIC`: one record from the options, or one a line of stdin. */
async function produce(): Promise<void> {
  const { brokers } = running();
  if (!name) throw new PlatformError('produce needs a TOPIC', SEE_USAGE);
  if (values.value !== undefined && values['json-lines']) {
    throw new PlatformError(
      '--value and --json-lines do not go together',
      'give one record with --value, or records on stdin with --json-lines',
    );
  }
  if (!brokers) notRunning();
  const defaults = {
    key: values.key ?? null,
    value: values.value ?? null,
    headers: parseHeaders(values.header),
  };
  if (values.value === undefined && process.stdin.isTTY) {
    note('reading records from stdin, one a line; Ctrl-D ends');
  }
  await produceRecords({
    brokers,
    topic: name,
    partition: optionalCount(values.partition, '--partition'),
    records:
      values.value === undefined
        ? readRecords(
            process.stdin,
            values['json-lines'] ? 'json-lines' : 'text',
            defaults,
          )
        : [defaults],
    out,
    note,
  });
}

/** `tail TOPIC`: the topic's records as they arrive, until Ctrl-C or `--max`. */
async function tail(): Promise<void> {
  const { brokers } = running();
  if (!name) throw new PlatformError('tail needs a TOPIC', SEE_USAGE);
  if (!brokers) notRunning();
  await tailTopic({
    brokers,
    topic: name,
    fromBeginning: values['from-beginning'],
    max: optionalCount(values.max, '--max', 1),
    json: values.json,
    out,
    note,
    signal: stopSignal(),
  });
}

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
    case 'stop':
      return stopInstance();
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
    case 'create-table':
      return createTable();
    case 'produce':
      return produce();
    case 'tail':
      return tail();
    default:
      throw new PlatformError(
        command ? `unknown command '${command}'` : 'no command given',
        SEE_USAGE,
      );
  }
}

main().catch(exitWithError);
