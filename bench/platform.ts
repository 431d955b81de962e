/**
 * `npm run bench`: start-up, stop and memory of the local platform.
 *
 * Each round starts Kafka and DynamoDB Local twice: one after the other (the baseline)
 * and in parallel, as `startPlatform` does; it prints the medians and their ratio, the
 * stop time and the JVMs' resident memory. Figures, not assertions: tests never time.
 */
import { performance } from 'node:perf_hooks';
import { DYNAMODB_LOCAL, ensureArtifacts, KAFKA } from '#platform/artifacts.ts';
import { startDynamoDbLocal } from '#platform/dynamodb.ts';
import { findJava } from '#platform/java.ts';
import { startKafkaBroker } from '#platform/kafka.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const java = findJava();
const kafkaLib = await ensureArtifacts(KAFKA, { java, log: console.log });
const dynamoLib = await ensureArtifacts(DYNAMODB_LOCAL, {
  java,
  log: console.log,
});

const mib = (bytes: number | undefined) =>
  bytes === undefined ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const kafkaStart: number[] = [];
const dynamoStart: number[] = [];
const sequential: number[] = [];
const parallel: number[] = [];
const stops: number[] = [];
let kafkaRss: number | undefined;
let dynamoRss: number | undefined;

for (let round = 1; round <= ROUNDS; round += 1) {
  // Baseline: one after the other.
  let t = performance.now();
  const kafka = await startKafkaBroker({ java, libDir: kafkaLib });
  kafkaStart.push(performance.now() - t);
  const t2 = performance.now();
  const dynamo = await startDynamoDbLocal({ java, libDir: dynamoLib });
  dynamoStart.push(performance.now() - t2);
  sequential.push(performance.now() - t);
  kafkaRss = kafka.jvm.residentBytes();
  dynamoRss = dynamo.jvm.residentBytes();
  t = performance.now();
  await Promise.all([kafka.stop(), dynamo.stop()]);
  stops.push(performance.now() - t);

  // As the platform does it: in parallel.
  t = performance.now();
  const both = await Promise.all([
    startKafkaBroker({ java, libDir: kafkaLib }),
    startDynamoDbLocal({ java, libDir: dynamoLib }),
  ]);
  parallel.push(performance.now() - t);
  await Promise.all(both.map((server) => server.stop()));
  console.log(`round ${round}/${ROUNDS} done`);
}

const ms = (values: number[]) => `${median(values).toFixed(0)} ms`;
console.log(`
Local platform (median of ${ROUNDS}, ${KAFKA.title}, ${DYNAMODB_LOCAL.title}, Java ${java.major})
  Kafka start (format + JVM + first admin call)   ${ms(kafkaStart)}
  DynamoDB Local start (JVM + first ListTables)   ${ms(dynamoStart)}
  both, one after the other (baseline)            ${ms(sequential)}
  both in parallel (startPlatform)                ${ms(parallel)}
  parallel / baseline                             ${(median(parallel) / median(sequential)).toFixed(2)}
  stop both                                       ${ms(stops)}
  resident memory after start: Kafka              ${mib(kafkaRss)}
  resident memory after start: DynamoDB Local     ${mib(dynamoRss)}
`);
