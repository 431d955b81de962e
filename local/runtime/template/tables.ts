/**
 * Reading DynamoDB tables (`AWS::DynamoDB::GlobalTable`, `AWS::DynamoDB::Table`)
 * into the `CreateTable` input of their local copies.
 */
import type {
  AttributeDefinition,
  CreateTableCommandInput,
  GlobalSecondaryIndex,
  KeySchemaElement,
  LocalSecondaryIndex,
  Projection,
} from '@aws-sdk/client-dynamodb';
import { isRecord } from '#commons/guards.ts';
import { InvalidTemplateError } from './errors.ts';
import type { CfnTemplate, LocalTable } from './model.ts';

/** Every table, on demand, with its indexes, stream and TTL attribute. */
export function readTables(resources: CfnTemplate['Resources']): LocalTable[] {
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
