/** Reading the Kafka topics of every `Custom::KafkaTopics`. */
import { isRecord } from '#commons/guards.ts';
import { InvalidTemplateError } from './errors.ts';
import type { CfnTemplate, LocalTopic } from './model.ts';

/** The `Topics` of every `Custom::KafkaTopics`, with partitions and retention. */
export function readTopics(resources: CfnTemplate['Resources']): LocalTopic[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'Custom::KafkaTopics')
    .flatMap(([logicalId, resource]) => {
      const topics = resource.Properties?.Topics;
      if (!Array.isArray(topics)) {
        throw new InvalidTemplateError(`${logicalId}: no Topics`);
      }
      return topics.map((topic: unknown): LocalTopic => {
        if (!isRecord(topic) || typeof topic.Name !== 'string') {
          throw new InvalidTemplateError(
            `${logicalId}: topic ${JSON.stringify(topic)} has no Name`,
          );
        }
        return {
          name: topic.Name,
          partitions: Number(topic.Partitions),
          retentionMs: Number(topic.RetentionMs),
        };
      });
    });
}
