import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_AWS } from '#platform/dynamodb.ts';
import { createTables } from '#platform/platform.ts';

describe('DynamoDB Local', () => {
  const endpoint = inject('dynamodbEndpoint');
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS });
  const db = DynamoDBDocumentClient.from(client);
  const TableName = `foundation-${randomUUID()}`;

  beforeAll(async () => {
    await createTables(endpoint, [
      {
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      },
    ]);
  });
  afterAll(() => {
    client.destroy();
  });

  it('refuses a second conditional create of the same item', async () => {
    // Prepare
    const item = { pk: 'PAYMENT#order-1', sk: 'CHARGE', amount: 1999 };
    const createOnce = () =>
      db.send(
        new PutCommand({
          TableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );

    // Act
    await createOnce();
    const second = createOnce();

    // Assess
    await expect(second).rejects.toBeInstanceOf(
      ConditionalCheckFailedException,
    );
  });

  it('writes an event and a versioned snapshot in one transaction, or nothing', async () => {
    // Prepare
    const pk = `ORDER#${randomUUID()}`;
    const appendEvent = (eventId: string, expectedVersion: number) =>
      db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName,
                Item: { pk, sk: `EVENT#${eventId}` },
                ConditionExpression: 'attribute_not_exists(sk)',
              },
            },
            {
              Put: {
                TableName,
                Item: { pk, sk: 'SNAPSHOT', version: expectedVersion + 1 },
                ConditionExpression:
                  'attribute_not_exists(pk) OR version = :expected',
                ExpressionAttributeValues: { ':expected': expectedVersion },
              },
            },
          ],
        }),
      );

    // Act
    await appendEvent('e1', 0);
    const stale = appendEvent('e2', 0);

    // Assess: the stale writer is cancelled and its event was not written either.
    await expect(stale).rejects.toBeInstanceOf(TransactionCanceledException);
    const snapshot = await db.send(
      new GetCommand({ TableName, Key: { pk, sk: 'SNAPSHOT' } }),
    );
    const orphan = await db.send(
      new GetCommand({ TableName, Key: { pk, sk: 'EVENT#e2' } }),
    );
    expect(snapshot.Item?.version).toBe(1);
    expect(orphan.Item).toBeUndefined();
  });
});
