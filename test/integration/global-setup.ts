import type { TestProject } from 'vitest/node';
import { startPlatform } from '#platform/platform.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    dynamodbEndpoint: string;
  }
}

/**
 * One real Kafka broker and one DynamoDB Local for the whole integration run, on free
 * ports; stopped at teardown (and by the JVM watchdog should vitest itself die).
 */
export default async function setup(project: TestProject) {
  const platform = await startPlatform({
    kafkaPort: 0,
    dynamodbPort: 0,
    log: (line) => console.log(`[platform] ${line}`),
  });
  project.provide('kafkaBrokers', [...platform.kafka.brokers]);
  project.provide('dynamodbEndpoint', platform.dynamodb.endpoint);
  return async () => {
    await platform.stop();
  };
}
