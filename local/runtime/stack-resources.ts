/**
 * The stack's topics and tables, created on a platform as the synthesized template
 * declares them: what `npm run dev` (./system.ts) and `npm run invoke` need before a
 * function runs. Its own module, so that `npm run invoke` need not load the runtime.
 */
import { createTables, createTopics } from '#platform/platform.ts';
import type { PlatformEndpoints } from './system.ts';
import type { SystemModel } from './template.ts';

/**
 * Creates the stack's topics and tables as the template declares them, those that do
 * not exist yet: what `npm run dev` and `npm run invoke` need before any function runs.
 *
 * @example
 * ```ts
 * await createStackResources(platform, readSystem(template, endpoints));
 * ```
 */
export async function createStackResources(
  platform: PlatformEndpoints,
  model: Pick<SystemModel, 'topics' | 'tables'>,
): Promise<void> {
  await createTopics(
    platform.kafka.brokers,
    model.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions,
      config: { 'retention.ms': String(topic.retentionMs) },
    })),
  );
  await createTables(
    platform.dynamodb.endpoint,
    model.tables.map((table) => table.createTableInput),
  );
}
