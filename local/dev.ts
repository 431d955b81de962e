/**
 * `npm run dev`: the whole system on this machine. For now the local platform: a real
 * Apache Kafka broker and DynamoDB Local, on the usual ports 9092 and 8000 unless
 * KAFKA_PORT / DYNAMODB_PORT say otherwise (0 picks free ports), or existing services
 * through KAFKA_BROKERS / DYNAMODB_ENDPOINT.
 */
import { exitWithError, servePlatform } from '#platform/serve.ts';

const env = process.env;
servePlatform({
  title: 'npm run dev',
  kafkaPort: env.KAFKA_PORT === undefined ? 9092 : undefined,
  dynamodbPort: env.DYNAMODB_PORT === undefined ? 8000 : undefined,
}).catch(exitWithError);
