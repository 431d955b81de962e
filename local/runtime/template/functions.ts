/**
 * Reading the system's functions (`AWS::Lambda::Function` with the
 * `orders:source-entry` metadata): their local names, entries, handlers,
 * limits and environment resolved to local values.
 */

import { isRecord } from '#commons/guards.ts';
import { SOURCE_ENTRY_METADATA } from '#infra/kafka-consumer-function.ts';
import { LOCAL_AWS } from '#platform/dynamodb.ts';
import type {
  CfnResource,
  CfnTemplate,
  LocalEndpoints,
  LocalFunction,
} from './model.ts';
import { numberOr } from './property-values.ts';
import type { Resolver } from './references.ts';

/**
 * The local names of the template's functions, as `readSystem` (./read-system.ts) gives them,
 * without resolving anything: what `npm run dev --env` checks before it starts.
 *
 * @example
 * ```ts
 * localFunctionNames(synthesizeTemplate()); // ['order-api', 'order-events', ...]
 * ```
 */
export function localFunctionNames(template: CfnTemplate): string[] {
  return systemFunctions(template.Resources).map(([logicalId]) =>
    shortName(logicalId),
  );
}

/** The functions of the system: those with the `orders:source-entry` metadata. */
export function systemFunctions(
  resources: CfnTemplate['Resources'],
): [string, CfnResource][] {
  return Object.entries(resources).filter(
    ([, resource]) =>
      resource.Type === 'AWS::Lambda::Function' &&
      typeof resource.Metadata?.[SOURCE_ENTRY_METADATA] === 'string',
  );
}

/** `PaymentFunction730F3D87` -> `payment`; `DlqAdminF285E1DB` -> `dlq-admin`. */
export function shortName(logicalId: string): string {
  // CDK appends an 8-character hash to the ids of nested constructs.
  const unhashed = /^(.+?)[0-9A-F]{8}$/.exec(logicalId)?.[1] ?? logicalId;
  const base = /^(.+)Function$/.exec(unhashed)?.[1] ?? unhashed;
  return base
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** One function: entry, handler, Lambda's defaults for timeout and memory, its environment resolved and Lambda's own variables added. */
export function readFunction(
  logicalId: string,
  resource: CfnResource,
  names: ReadonlyMap<string, string>,
  resolver: Resolver,
  local: LocalEndpoints,
  region: string,
): LocalFunction {
  const props = resource.Properties ?? {};
  const name = names.get(logicalId) as string;
  const entry = resource.Metadata?.[SOURCE_ENTRY_METADATA] as string;
  const handlerProp = props.Handler;
  const handler =
    typeof handlerProp === 'string'
      ? handlerProp.slice(handlerProp.lastIndexOf('.') + 1)
      : 'handler';
  // Lambda's defaults when the template leaves them out.
  const timeoutSeconds = numberOr(props.Timeout, 3);
  const memoryMb = numberOr(props.MemorySize, 128);
  const variables = isRecord(props.Environment)
    ? props.Environment.Variables
    : undefined;
  const environment: Record<string, string> = {};
  for (const [variable, value] of Object.entries(
    isRecord(variables) ? variables : {},
  )) {
    environment[variable] = resolver.resolve(value, `${name}: ${variable}`);
  }
  // A local broker listens in plaintext: no SASL/IAM.
  if ('KAFKA_AUTH' in environment || 'KAFKA_BROKERS' in environment) {
    environment.KAFKA_AUTH = 'none';
  }
  Object.assign(environment, {
    DYNAMODB_ENDPOINT: local.dynamodbEndpoint,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // DynamoDB Local accepts any credentials; these keep the SDK from looking for
    // real ones on the developer's machine.
    AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
  });
  return {
    logicalId,
    name,
    entry,
    handler,
    environment,
    timeoutSeconds,
    memoryMb,
  };
}
