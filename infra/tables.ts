/**
 * The DynamoDB tables for the stack and for DynamoDB Local: the table specs
 * (`#commons/table-specs.ts`, which the functions read too) and the CreateTable
 * request made from one.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { TableSpec } from '#commons/table-specs.ts';

export { TABLES, type TableSpec } from '#commons/table-specs.ts';

/**
 * A CreateTable request for a table spec (on-demand billing), for DynamoDB Local.
 *
 * @example
 * ```ts
 * await platform.createTables([createTableInput(TABLES.orders, 'orders-test')]);
 * ```
 */
export function createTableInput(
  spec: TableSpec,
  tableName: string,
): CreateTableCommandInput {
  const keys = new Set<string>([spec.partitionKey]);
  if (spec.sortKey) keys.add(spec.sortKey);
  for (const index of spec.indexes ?? []) {
    keys.add(index.partitionKey);
    keys.add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [
      { AttributeName: spec.partitionKey, KeyType: 'HASH' },
      ...(spec.sortKey
        ? [{ AttributeName: spec.sortKey, KeyType: 'RANGE' as const }]
        : []),
    ],
    AttributeDefinitions: [...keys].map((name) => ({
      AttributeName: name,
      AttributeType: 'S',
    })),
    ...(spec.stream
      ? {
          StreamSpecification: {
            StreamEnabled: true,
            StreamViewType: spec.stream,
          },
        }
      : {}),
    ...(spec.indexes?.length
      ? {
          GlobalSecondaryIndexes: spec.indexes.map((index) => ({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          })),
        }
      : {}),
  };
}
