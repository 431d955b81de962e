/**
 * The DynamoDB tables, built from the specs in `./tables.ts` (never written twice).
 *
 * `TableV2` (`AWS::DynamoDB::GlobalTable`) rather than `Table`: it is the construct
 * CDK recommends for new tables, it carries deletion protection and PITR per
 * replica, and adding a replica Region later is a property change, whereas moving
 * a `Table` to a global table means replacing it (and its data).
 * https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_dynamodb-readme.html
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableSpec } from './tables.ts';

/** The tables by their key in `TABLES`. */
export type TableName = keyof typeof TABLES;

export interface OrdersTablesProps {
  /**
   * Keep the tables (and their data) when the stack is deleted, and refuse
   * deletion outright; `false` for throw-away stages.
   */
  readonly retainData: boolean;
}

/**
 * One on-demand, point-in-time-recoverable, AWS-managed-key encrypted table per
 * spec in `TABLES`, with the spec's sort key, GSIs and TTL attribute.
 *
 * @example
 * ```ts
 * const data = new OrdersTables(this, 'Data', { retainData: config.retainData });
 * data.tables.orders.grantReadWriteData(orderApiFunction);
 * const fn = new lambda.Function(this, 'Fn', {
 *   // ...
 *   environment: data.environment(),
 * });
 * ```
 */
export class OrdersTables extends Construct {
  readonly tables: Record<TableName, dynamodb.ITableV2>;

  constructor(scope: Construct, id: string, props: OrdersTablesProps) {
    super(scope, id);
    const build = (spec: TableSpec): dynamodb.ITableV2 =>
      createTable(this, spec, props.retainData);
    this.tables = {
      orders: build(TABLES.orders),
      payments: build(TABLES.payments),
      deadLetters: build(TABLES.deadLetters),
      idempotency: build(TABLES.idempotency),
    };
  }

  /**
   * Each spec's environment variable mapped to its table's name, for the
   * functions' `environment` (read by `#commons/config.ts`).
   *
   * @example
   * ```ts
   * fn.addEnvironment('ORDERS_TABLE', data.environment().ORDERS_TABLE);
   * ```
   */
  environment(): Record<string, string> {
    const names = Object.keys(TABLES) as TableName[];
    return Object.fromEntries(
      names.map((name) => [TABLES[name].envVar, this.tables[name].tableName]),
    );
  }
}

function createTable(
  scope: Construct,
  spec: TableSpec,
  retainData: boolean,
): dynamodb.TableV2 {
  // Every key attribute is a string (see ./tables.ts).
  const key = (name: string): dynamodb.Attribute => ({
    name,
    type: dynamodb.AttributeType.STRING,
  });
  return new dynamodb.TableV2(scope, spec.id, {
    partitionKey: key(spec.partitionKey),
    ...(spec.sortKey ? { sortKey: key(spec.sortKey) } : {}),
    globalSecondaryIndexes: spec.indexes?.map((index) => ({
      indexName: index.name,
      partitionKey: key(index.partitionKey),
      sortKey: key(index.sortKey),
      projectionType: dynamodb.ProjectionType.ALL,
    })),
    ...(spec.timeToLiveAttribute
      ? { timeToLiveAttribute: spec.timeToLiveAttribute }
      : {}),
    ...(spec.stream
      ? { dynamoStream: dynamodb.StreamViewType[spec.stream] }
      : {}),
    billing: dynamodb.Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    removalPolicy: retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    deletionProtection: retainData,
  });
}
