/**
 * The system as the synthesized CloudFormation template describes it, turned into
 * what a local run needs: functions with a resolved environment, event source
 * mappings, HTTP routes, tables, topics and schedules. Nothing here repeats a route,
 * topic, table or mapping: everything is read back from the template that deploys.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {
  AttributeDefinition,
  CreateTableCommandInput,
  GlobalSecondaryIndex,
  KeySchemaElement,
  LocalSecondaryIndex,
  Projection,
} from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { buildApp } from '#infra/app.ts';
import { SOURCE_ENTRY_METADATA } from '#infra/kafka-consumer-function.ts';
import { LOCAL_AWS } from '#platform/dynamodb.ts';

/** The repository root: `cdk.json` and the `functions/` entries are under it. */
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The account in every local ARN: clearly not a real one. */
export const LOCAL_ACCOUNT = '000000000000';

/** One resource of a CloudFormation template. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Metadata?: Readonly<Record<string, unknown>>;
}

/** A synthesized CloudFormation template (the parts read here). */
export interface CfnTemplate {
  readonly Resources: Readonly<Record<string, CfnResource>>;
}

/** A function of the system, ready to run locally. */
export interface LocalFunction {
  readonly logicalId: string;
  /** Short name, e.g. `payment`: the log prefix and the local `functionName`. */
  readonly name: string;
  /** The TypeScript entry, relative to the repository: `functions/payment.ts`. */
  readonly entry: string;
  /** The exported handler: `handler`, `adminHandler`... */
  readonly handler: string;
  /** The template's environment, resolved to local names, plus Lambda's own. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

/** What every `AWS::Lambda::EventSourceMapping` says, with Lambda's defaults. */
export interface MappingSettings {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  /** Default 100. */
  readonly batchSize: number;
  /** -1 (infinite: until the record leaves its source) when absent. */
  readonly maximumRetryAttempts: number;
  /** -1 (infinite: until the record leaves its source) when absent. */
  readonly maximumRecordAgeSeconds: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly reportBatchItemFailures: boolean;
  /**
   * Kafka: e.g. `kafka://order.placed.v1.dead-letter`. A stream: an SQS queue or SNS
   * topic ARN, as JSON; not emulated locally (logged instead).
   */
  readonly onFailureDestination?: string;
  readonly enabled: boolean;
  /** The `FilterCriteria` patterns, as JSON strings. */
  readonly filters: readonly string[];
}

/** An `AWS::Lambda::EventSourceMapping` on a Kafka topic. */
export interface LocalMapping extends MappingSettings {
  readonly topic: string;
  readonly consumerGroupId: string;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  /** Unix seconds, with `AT_TIMESTAMP`. */
  readonly startingPositionTimestamp?: number;
  /** Default 0.5 (Kafka's 500 ms) when absent. */
  readonly maximumBatchingWindowSeconds: number;
  readonly minimumPollers?: number;
  readonly maximumPollers?: number;
}

/** An `AWS::Lambda::EventSourceMapping` on a DynamoDB table's stream. */
export interface LocalStreamMapping extends MappingSettings {
  /** The table's logical id, which is also its local name. */
  readonly tableLogicalId: string;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** Default 0. */
  readonly maximumBatchingWindowSeconds: number;
  /** Default 1. */
  readonly parallelizationFactor: number;
}

/** An HTTP API route and the function behind it. */
export interface LocalRoute {
  /** `GET /orders/{orderId}` */
  readonly routeKey: string;
  readonly functionLogicalId: string;
  readonly authorizationType: 'NONE' | 'JWT' | 'AWS_IAM';
  /** The integration's payload format: `2.0` or `1.0`. */
  readonly payloadFormatVersion: string;
  /** Issuer and audience, for a `JWT` route. */
  readonly jwt?: { readonly issuer: string; readonly audience: string[] };
}

/** A DynamoDB table under its local name. */
export interface LocalTable {
  readonly logicalId: string;
  /** The local name: the logical id (unique, and findable in the template). */
  readonly tableName: string;
  readonly createTableInput: CreateTableCommandInput;
  /** TTL is not part of CreateTable: `UpdateTimeToLive` after creation. */
  readonly timeToLiveAttribute?: string;
}

/** A Kafka topic of `Custom::KafkaTopics`. */
export interface LocalTopic {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
}

/** An enabled `rate(...)` rule that invokes a function. */
export interface LocalSchedule {
  readonly ruleLogicalId: string;
  readonly functionLogicalId: string;
  readonly everySeconds: number;
}

/** Everything a local run needs, read from one template. */
export interface SystemModel {
  readonly functions: LocalFunction[];
  readonly mappings: LocalMapping[];
  readonly streamMappings: LocalStreamMapping[];
  readonly routes: LocalRoute[];
  readonly tables: LocalTable[];
  readonly topics: LocalTopic[];
  readonly schedules: LocalSchedule[];
}

/** Where the local system's servers are. */
export interface LocalEndpoints {
  readonly brokers: readonly string[];
  readonly dynamodbEndpoint: string;
  /** Default: the local platform's region. */
  readonly region?: string;
}

/** A template value (an intrinsic function) that has no local meaning. */
export class UnresolvableReferenceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnresolvableReferenceError';
  }
}

/** Valid CloudFormation that the local runtime cannot run, e.g. a cron schedule. */
export class UnsupportedTemplateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnsupportedTemplateError';
  }
}

/** The template contradicts itself: a dangling reference, a missing property. */
export class InvalidTemplateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InvalidTemplateError';
  }
}

/** The CDK app failed to synthesize (a construct threw, or cdk-nag refused it). */
export class TemplateSynthesisError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TemplateSynthesisError';
  }
}

/**
 * Synthesizes the real CDK app in this process and returns the stack's template.
 *
 * In-process rather than reading `cdk.out`: the template is always the one the
 * current code makes (a stale `cdk.out` would run yesterday's routes), no CDK CLI
 * is needed, and it takes about 1-2 s because asset bundling is skipped
 * (`aws:cdk:bundling-stacks: []`; the local runtime runs the TypeScript, not the
 * bundles). The context is `cdk.json`'s, as `cdk synth` would use, with `stage`
 * set. The cloud assembly goes to a temporary folder that is removed afterwards.
 *
 * @example
 * ```ts
 * const template = synthesizeTemplate('dev');
 * const system = readSystem(template, { brokers, dynamodbEndpoint });
 * ```
 */
export function synthesizeTemplate(stage = 'dev'): CfnTemplate {
  const outdir = mkdtempSync(path.join(tmpdir(), 'local-synth-'));
  try {
    const app = new App({
      outdir,
      context: {
        ...cdkJsonContext(),
        stage,
        'aws:cdk:bundling-stacks': [],
      },
    });
    const { stack } = buildApp(app);
    const template: unknown = app
      .synth()
      .getStackByName(stack.stackName).template;
    if (!isRecord(template) || !isRecord(template.Resources)) {
      throw new InvalidTemplateError(`${stack.stackName} has no Resources`);
    }
    return template as unknown as CfnTemplate;
  } catch (error) {
    if (error instanceof InvalidTemplateError) throw error;
    throw new TemplateSynthesisError(
      `synthesizing the CDK app (stage ${stage}) failed: ${messageOf(error)}`,
      { cause: error },
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function cdkJsonContext(): Record<string, unknown> {
  const cdkJson: unknown = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'),
  );
  return isRecord(cdkJson) && isRecord(cdkJson.context) ? cdkJson.context : {};
}

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
 *   {@link UnresolvableReferenceError} naming the function and the variable.
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

/**
 * The local names of the template's functions, as {@link readSystem} gives them,
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
function systemFunctions(
  resources: CfnTemplate['Resources'],
): [string, CfnResource][] {
  return Object.entries(resources).filter(
    ([, resource]) =>
      resource.Type === 'AWS::Lambda::Function' &&
      typeof resource.Metadata?.[SOURCE_ENTRY_METADATA] === 'string',
  );
}

/** `PaymentFunction730F3D87` -> `payment`; `DlqAdminF285E1DB` -> `dlq-admin`. */
function shortName(logicalId: string): string {
  // CDK appends an 8-character hash to the ids of nested constructs.
  const unhashed = /^(.+?)[0-9A-F]{8}$/.exec(logicalId)?.[1] ?? logicalId;
  const base = /^(.+)Function$/.exec(unhashed)?.[1] ?? unhashed;
  return base
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function readFunction(
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

/** Resolves template values of function environments to local strings. */
class Resolver {
  readonly #resources: CfnTemplate['Resources'];
  readonly #functionNames: ReadonlyMap<string, string>;
  readonly #tableNames: ReadonlyMap<string, string>;
  readonly #local: LocalEndpoints;
  readonly #region: string;

  constructor(
    resources: CfnTemplate['Resources'],
    functionNames: ReadonlyMap<string, string>,
    tables: readonly LocalTable[],
    local: LocalEndpoints,
    region: string,
  ) {
    this.#resources = resources;
    this.#functionNames = functionNames;
    this.#tableNames = new Map(tables.map((t) => [t.logicalId, t.tableName]));
    this.#local = local;
    this.#region = region;
  }

  resolve(value: unknown, where: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    const fail = (why: string): never => {
      throw new UnresolvableReferenceError(
        `${where}: ${JSON.stringify(value)} ${why}`,
      );
    };
    if (!isRecord(value)) return fail('is not a string or intrinsic');
    if (typeof value.Ref === 'string') return this.#ref(value.Ref, fail);
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const [id, attribute] = getAtt;
      if (typeof id === 'string' && typeof attribute === 'string') {
        return this.#getAtt(id, attribute, fail);
      }
    }
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string') {
      const parts: unknown = join[1];
      if (Array.isArray(parts)) {
        return parts.map((part) => this.resolve(part, where)).join(join[0]);
      }
    }
    return fail('has no local equivalent');
  }

  #ref(id: string, fail: (why: string) => never): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': this.#region,
      'AWS::AccountId': LOCAL_ACCOUNT,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (id in pseudo) return pseudo[id] as string;
    const table = this.#tableNames.get(id);
    if (table !== undefined) return table;
    // Lambda's Ref of a function is its name.
    const fn = this.#functionNames.get(id);
    if (fn !== undefined) return fn;
    return fail(this.#describe(id, 'is not a table or a local function'));
  }

  #getAtt(id: string, attribute: string, fail: (why: string) => never): string {
    if (attribute.startsWith('BootstrapBrokerString')) {
      // The MSK bootstrap brokers (custom resource): the local broker instead.
      return this.#local.brokers.join(',');
    }
    if (attribute === 'Arn') {
      const table = this.#tableNames.get(id);
      if (table !== undefined) {
        return `arn:aws:dynamodb:${this.#region}:${LOCAL_ACCOUNT}:table/${table}`;
      }
      const fn = this.#functionNames.get(id);
      if (fn !== undefined) return localFunctionArn(this.#region, fn);
    }
    return fail(this.#describe(id, `has no local ${attribute}`));
  }

  #describe(id: string, why: string): string {
    const type = this.#resources[id]?.Type ?? 'an unknown resource';
    return `(${id}, ${type}) ${why}`;
  }
}

/**
 * The ARN a local function reports as `invokedFunctionArn`.
 *
 * @example
 * ```ts
 * localFunctionArn('us-east-1', 'payment');
 * // 'arn:aws:lambda:us-east-1:000000000000:function:payment'
 * ```
 */
export function localFunctionArn(region: string, name: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`;
}

function readMappings(
  resources: CfnTemplate['Resources'],
  names: ReadonlyMap<string, string>,
): LocalMapping[] {
  return Object.entries(resources)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::Lambda::EventSourceMapping' &&
        streamTableOf(r, resources) === undefined,
    )
    .map(([logicalId, resource]) => {
      const props = resource.Properties ?? {};
      const { destination, ...settings } = readMappingSettings(
        logicalId,
        props,
        names,
      );
      const topics = props.Topics;
      if (
        !Array.isArray(topics) ||
        topics.length !== 1 ||
        typeof topics[0] !== 'string'
      ) {
        throw new UnsupportedTemplateError(
          `event source mapping ${logicalId}: a Kafka mapping has exactly one topic, got ${JSON.stringify(topics)}`,
        );
      }
      const kafkaConfig =
        props.AmazonManagedKafkaEventSourceConfig ??
        props.SelfManagedKafkaEventSourceConfig;
      const groupId = isRecord(kafkaConfig)
        ? kafkaConfig.ConsumerGroupId
        : undefined;
      const startingPosition = props.StartingPosition ?? 'LATEST';
      if (
        startingPosition !== 'TRIM_HORIZON' &&
        startingPosition !== 'LATEST' &&
        startingPosition !== 'AT_TIMESTAMP'
      ) {
        throw new InvalidTemplateError(
          `event source mapping ${logicalId}: StartingPosition ${JSON.stringify(startingPosition)}`,
        );
      }
      if (destination !== undefined && typeof destination !== 'string') {
        throw new UnsupportedTemplateError(
          `event source mapping ${logicalId}: on-failure destination ${JSON.stringify(destination)} is not a kafka:// topic`,
        );
      }
      const pollers = isRecord(props.ProvisionedPollerConfig)
        ? props.ProvisionedPollerConfig
        : {};
      const mapping: LocalMapping = {
        ...settings,
        topic: topics[0],
        consumerGroupId: typeof groupId === 'string' ? groupId : logicalId,
        startingPosition,
        ...(props.StartingPositionTimestamp !== undefined
          ? {
              startingPositionTimestamp: Number(
                props.StartingPositionTimestamp,
              ),
            }
          : {}),
        maximumBatchingWindowSeconds: numberOr(
          props.MaximumBatchingWindowInSeconds,
          0.5,
        ),
        ...(destination !== undefined
          ? { onFailureDestination: destination }
          : {}),
        ...(pollers.MinimumPollers !== undefined
          ? { minimumPollers: Number(pollers.MinimumPollers) }
          : {}),
        ...(pollers.MaximumPollers !== undefined
          ? { maximumPollers: Number(pollers.MaximumPollers) }
          : {}),
      };
      return mapping;
    });
}

/**
 * The properties every event source mapping has, with Lambda's defaults, and its
 * on-failure destination as the template gives it.
 */
function readMappingSettings(
  logicalId: string,
  props: Record<string, unknown>,
  names: ReadonlyMap<string, string>,
): Omit<MappingSettings, 'onFailureDestination'> & { destination: unknown } {
  const destinationConfig = isRecord(props.DestinationConfig)
    ? props.DestinationConfig.OnFailure
    : undefined;
  const responseTypes = props.FunctionResponseTypes;
  const filterCriteria = isRecord(props.FilterCriteria)
    ? props.FilterCriteria.Filters
    : undefined;
  return {
    logicalId,
    functionLogicalId: functionOf(
      props.FunctionName,
      names,
      `event source mapping ${logicalId}`,
    ),
    batchSize: numberOr(props.BatchSize, 100),
    maximumRetryAttempts: numberOr(props.MaximumRetryAttempts, -1),
    maximumRecordAgeSeconds: numberOr(props.MaximumRecordAgeInSeconds, -1),
    bisectBatchOnFunctionError: props.BisectBatchOnFunctionError === true,
    reportBatchItemFailures:
      Array.isArray(responseTypes) &&
      responseTypes.includes('ReportBatchItemFailures'),
    destination: isRecord(destinationConfig)
      ? destinationConfig.Destination
      : undefined,
    enabled: props.Enabled !== false && props.Enabled !== 'false',
    filters: Array.isArray(filterCriteria)
      ? filterCriteria.flatMap((filter: unknown) =>
          isRecord(filter) && typeof filter.Pattern === 'string'
            ? [filter.Pattern]
            : [],
        )
      : [],
  };
}

/** The table whose stream a mapping reads (`Fn::GetAtt [table, StreamArn]`), if any. */
function streamTableOf(
  mapping: CfnResource,
  resources: CfnTemplate['Resources'],
): string | undefined {
  const arn = mapping.Properties?.EventSourceArn;
  const getAtt = isRecord(arn) ? arn['Fn::GetAtt'] : undefined;
  if (!Array.isArray(getAtt) || getAtt[1] !== 'StreamArn') return undefined;
  const table = resources[String(getAtt[0])];
  return table?.Type === 'AWS::DynamoDB::Table' ||
    table?.Type === 'AWS::DynamoDB::GlobalTable'
    ? String(getAtt[0])
    : undefined;
}

function readStreamMappings(
  resources: CfnTemplate['Resources'],
  names: ReadonlyMap<string, string>,
): LocalStreamMapping[] {
  return Object.entries(resources).flatMap(([logicalId, resource]) => {
    if (resource.Type !== 'AWS::Lambda::EventSourceMapping') return [];
    const tableLogicalId = streamTableOf(resource, resources);
    if (tableLogicalId === undefined) return [];
    const props = resource.Properties ?? {};
    const { destination, ...settings } = readMappingSettings(
      logicalId,
      props,
      names,
    );
    const startingPosition = props.StartingPosition ?? 'LATEST';
    if (startingPosition !== 'TRIM_HORIZON' && startingPosition !== 'LATEST') {
      throw new UnsupportedTemplateError(
        `event source mapping ${logicalId}: StartingPosition ${JSON.stringify(startingPosition)} on a DynamoDB stream`,
      );
    }
    const mapping: LocalStreamMapping = {
      ...settings,
      tableLogicalId,
      startingPosition,
      maximumBatchingWindowSeconds: numberOr(
        props.MaximumBatchingWindowInSeconds,
        0,
      ),
      parallelizationFactor: numberOr(props.ParallelizationFactor, 1),
      ...(destination !== undefined
        ? { onFailureDestination: JSON.stringify(destination) }
        : {}),
    };
    return [mapping];
  });
}

function readRoutes(
  resources: CfnTemplate['Resources'],
  names: ReadonlyMap<string, string>,
): LocalRoute[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')
    .map(([logicalId, resource]) => {
      const props = resource.Properties ?? {};
      const where = `route ${logicalId}`;
      if (typeof props.RouteKey !== 'string') {
        throw new InvalidTemplateError(`${where}: no RouteKey`);
      }
      const integrationId = integrationOf(props.Target, where);
      const integration = resources[integrationId];
      if (integration?.Type !== 'AWS::ApiGatewayV2::Integration') {
        throw new InvalidTemplateError(
          `${where}: target ${integrationId} is not an integration`,
        );
      }
      const integrationProps = integration.Properties ?? {};
      const authorizationType = props.AuthorizationType ?? 'NONE';
      if (
        authorizationType !== 'NONE' &&
        authorizationType !== 'JWT' &&
        authorizationType !== 'AWS_IAM'
      ) {
        throw new UnsupportedTemplateError(
          `${where}: authorization ${JSON.stringify(authorizationType)}`,
        );
      }
      const jwt =
        authorizationType === 'JWT'
          ? jwtOf(resources, props.AuthorizerId, where)
          : undefined;
      const route: LocalRoute = {
        routeKey: props.RouteKey,
        functionLogicalId: functionOf(
          integrationProps.IntegrationUri,
          names,
          `${where} (integration ${integrationId})`,
        ),
        authorizationType,
        payloadFormatVersion: String(
          integrationProps.PayloadFormatVersion ?? '1.0',
        ),
        ...(jwt ? { jwt } : {}),
      };
      return route;
    });
}

/** `integrations/<id>`, written as a string or as `Fn::Join` with a `Ref`. */
function integrationOf(target: unknown, where: string): string {
  if (typeof target === 'string' && target.startsWith('integrations/')) {
    return target.slice('integrations/'.length);
  }
  const join = isRecord(target) ? target['Fn::Join'] : undefined;
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const [prefix, ref] = join[1] as unknown[];
    if (
      prefix === 'integrations/' &&
      isRecord(ref) &&
      typeof ref.Ref === 'string'
    ) {
      return ref.Ref;
    }
  }
  throw new InvalidTemplateError(
    `${where}: target ${JSON.stringify(target)} is not integrations/<integration>`,
  );
}

function jwtOf(
  resources: CfnTemplate['Resources'],
  authorizerId: unknown,
  where: string,
): LocalRoute['jwt'] {
  const id = isRecord(authorizerId) ? authorizerId.Ref : undefined;
  const authorizer = typeof id === 'string' ? resources[id] : undefined;
  const config = authorizer?.Properties?.JwtConfiguration;
  if (
    !isRecord(config) ||
    typeof config.Issuer !== 'string' ||
    !Array.isArray(config.Audience)
  ) {
    throw new UnresolvableReferenceError(
      `${where}: JWT authorizer ${JSON.stringify(authorizerId)} has no literal issuer and audience`,
    );
  }
  return { issuer: config.Issuer, audience: config.Audience.map(String) };
}

/** The logical id of the local function a `Ref` or `Fn::GetAtt Arn` names. */
function functionOf(
  value: unknown,
  names: ReadonlyMap<string, string>,
  where: string,
): string {
  let id: unknown;
  if (isRecord(value)) {
    const getAtt = value['Fn::GetAtt'];
    if (typeof value.Ref === 'string') id = value.Ref;
    else if (Array.isArray(getAtt) && getAtt[1] === 'Arn') id = getAtt[0];
  }
  if (typeof id !== 'string' || !names.has(id)) {
    throw new InvalidTemplateError(
      `${where}: ${JSON.stringify(value)} is not a local function (one with ${SOURCE_ENTRY_METADATA} metadata)`,
    );
  }
  return id;
}

function readTables(resources: CfnTemplate['Resources']): LocalTable[] {
  return Object.entries(resources)
    .filter(
      ([, r]) =>
        r.Type === 'AWS::DynamoDB::GlobalTable' ||
        r.Type === 'AWS::DynamoDB::Table',
    )
    .map(([logicalId, resource]) => {
      const props = resource.Properties ?? {};
      const tableName = logicalId;
      const indexes = (value: unknown) =>
        Array.isArray(value)
          ? value.filter(isRecord).map((index) => ({
              IndexName: String(index.IndexName),
              KeySchema: index.KeySchema as KeySchemaElement[],
              Projection: index.Projection as Projection,
            }))
          : [];
      const gsis: GlobalSecondaryIndex[] = indexes(
        props.GlobalSecondaryIndexes,
      );
      const lsis: LocalSecondaryIndex[] = indexes(props.LocalSecondaryIndexes);
      const stream = isRecord(props.StreamSpecification)
        ? props.StreamSpecification.StreamViewType
        : undefined;
      const ttl = isRecord(props.TimeToLiveSpecification)
        ? props.TimeToLiveSpecification
        : undefined;
      const createTableInput: CreateTableCommandInput = {
        TableName: tableName,
        // Capacity means nothing to DynamoDB Local.
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: props.AttributeDefinitions as
          | AttributeDefinition[]
          | undefined,
        KeySchema: props.KeySchema as KeySchemaElement[] | undefined,
        ...(gsis.length ? { GlobalSecondaryIndexes: gsis } : {}),
        ...(lsis.length ? { LocalSecondaryIndexes: lsis } : {}),
        ...(typeof stream === 'string'
          ? {
              StreamSpecification: {
                StreamEnabled: true,
                StreamViewType: stream as 'NEW_AND_OLD_IMAGES',
              },
            }
          : {}),
      };
      if (!Array.isArray(createTableInput.KeySchema)) {
        throw new InvalidTemplateError(`table ${logicalId}: no KeySchema`);
      }
      const table: LocalTable = {
        logicalId,
        tableName,
        createTableInput,
        ...(ttl &&
        ttl.Enabled !== false &&
        typeof ttl.AttributeName === 'string'
          ? { timeToLiveAttribute: ttl.AttributeName }
          : {}),
      };
      return table;
    });
}

function readTopics(resources: CfnTemplate['Resources']): LocalTopic[] {
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

const RATE = /^rate\((\d+) (second|minute|hour|day)s?\)$/;
const UNIT_SECONDS = { second: 1, minute: 60, hour: 3_600, day: 86_400 };

function readSchedules(
  resources: CfnTemplate['Resources'],
  names: ReadonlyMap<string, string>,
): LocalSchedule[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Events::Rule')
    .flatMap(([ruleLogicalId, resource]) => {
      const props = resource.Properties ?? {};
      const expression = props.ScheduleExpression;
      // Event-pattern rules and disabled rules invoke nothing on a clock.
      if (expression === undefined) return [];
      if ((props.State ?? 'ENABLED') !== 'ENABLED') return [];
      const match =
        typeof expression === 'string' ? RATE.exec(expression) : null;
      if (!match) {
        throw new UnsupportedTemplateError(
          `rule ${ruleLogicalId}: ${JSON.stringify(expression)} is not a rate(...) schedule`,
        );
      }
      const everySeconds =
        Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
      const targets = Array.isArray(props.Targets) ? props.Targets : [];
      return targets.filter(isRecord).map(
        (target): LocalSchedule => ({
          ruleLogicalId,
          functionLogicalId: functionOf(
            target.Arn,
            names,
            `rule ${ruleLogicalId}`,
          ),
          everySeconds,
        }),
      );
    });
}

function numberOr(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number)) {
    throw new InvalidTemplateError(`${JSON.stringify(value)} is not a number`);
  }
  return number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
