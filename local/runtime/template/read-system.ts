/**
 * Reading the whole system out of a synthesized template: every resource type's
 * reader run, and every reference resolved to a local name.
 */
import { LOCAL_AWS } from '#platform/dynamodb.ts';
import { UnsupportedTemplateError } from './errors.ts';
import { readMappings, readStreamMappings } from './event-source-mappings.ts';
import { readFunction, shortName, systemFunctions } from './functions.ts';
import type { CfnTemplate, LocalEndpoints, SystemModel } from './model.ts';
import { Resolver } from './references.ts';
import { readRoutes } from './routes.ts';
import { readSchedules } from './schedules.ts';
import { readTables } from './tables.ts';
import { readTopics } from './topics.ts';

/**
 * Reads the system out of a synthesized template, every reference resolved to a
 * local name (pure: no I/O).
 *
 * - Functions: only those with the `orders:source-entry` metadata (CDK's own
 *   custom-resource handlers are not part of the system). `name` is the logical id
 *   without CDK's 8-character hash and a trailing `Function`, in kebab case
 *   (`PaymentFunction730F3D87` -> `payment`); `handler` is the export after `index.`.
 * - Environment: `{ Ref: <table> }` -> the table's local name (its logical id);
 *   `Fn::GetAtt` of a `BootstrapBrokerString*` attribute (the bootstrap-brokers
 *   custom resource) -> `local.brokers.join(',')`; `KAFKA_AUTH` -> `none` (a local
 *   broker has no IAM); `Ref` of a function -> its local name; `Fn::GetAtt` `Arn` of
 *   a table or function -> a local ARN; pseudo parameters -> local values;
 *   `Fn::Join` of those -> joined. Added, as Lambda and the local platform provide
 *   them: `DYNAMODB_ENDPOINT`, `AWS_REGION`, `AWS_DEFAULT_REGION`, dummy
 *   `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, `AWS_LAMBDA_FUNCTION_NAME`,
 *   `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, `AWS_LAMBDA_FUNCTION_VERSION`,
 *   `AWS_LAMBDA_LOG_GROUP_NAME`. Anything else (e.g. a cluster ARN) throws an
 *   `UnresolvableReferenceError` (./errors.ts) naming the function and the variable.
 * - Mappings: `FunctionName` (`Ref` or `Fn::GetAtt Arn` of a function) -> its
 *   logical id; absent properties take Lambda's Kafka defaults; no consumer group id
 *   -> the mapping's logical id (Lambda would use the mapping's UUID).
 * - Routes: `Target` `integrations/<Ref integration>` -> the integration's
 *   `IntegrationUri` (`Fn::GetAtt Arn` of a function) -> the function.
 * - Schedules: enabled `AWS::Events::Rule`s with `rate(N minute(s)|second(s)|
 *   hour(s)|day(s))`, one per function target; a cron rule is unsupported.
 * - Tables: `AWS::DynamoDB::GlobalTable` and `AWS::DynamoDB::Table`, on demand.
 * - Topics: the `Topics` of every `Custom::KafkaTopics`.
 *
 * @example
 * ```ts
 * const system = readSystem(synthesizeTemplate(), {
 *   brokers: ['127.0.0.1:9092'],
 *   dynamodbEndpoint: 'http://127.0.0.1:8000',
 * });
 * system.functions.map((fn) => fn.name); // ['order-api', 'order-events', ...]
 * ```
 */
export function readSystem(
  template: CfnTemplate,
  local: LocalEndpoints,
): SystemModel {
  const resources = template.Resources;
  const region = local.region ?? LOCAL_AWS.region;
  const tables = readTables(resources);
  const functionEntries = systemFunctions(resources);
  const names = new Map<string, string>();
  for (const [logicalId] of functionEntries) {
    const name = shortName(logicalId);
    const clash = [...names].find(([, other]) => other === name);
    if (clash) {
      throw new UnsupportedTemplateError(
        `functions ${clash[0]} and ${logicalId} would both be named ${name} locally`,
      );
    }
    names.set(logicalId, name);
  }
  const resolver = new Resolver(resources, names, tables, local, region);
  const functions = functionEntries.map(([logicalId, resource]) =>
    readFunction(logicalId, resource, names, resolver, local, region),
  );
  return {
    functions,
    mappings: readMappings(resources, names),
    streamMappings: readStreamMappings(resources, names),
    routes: readRoutes(resources, names),
    tables,
    topics: readTopics(resources),
    schedules: readSchedules(resources, names),
  };
}
