/**
 * The system model the template reader produces: the CloudFormation template as
 * read, and the functions, mappings, routes, tables, topics and schedules a
 * local run needs (types only).
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

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
