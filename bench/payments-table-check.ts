/**
 * The check after a payment run: the Payments table holds exactly one decided,
 * published payment per order handled, as the payment rules decide, and nothing
 * else.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { OrderPlaced } from '#domain/events.ts';
import { expectedStatus } from './payment-orders.ts';

/**
 * Throws, naming one wrong item, unless `tableName` holds exactly `count` items,
 * each the expected outcome of an order of `byOrder`, published.
 *
 * @example
 * ```ts
 * await verifyPaymentsTable(dynamodb, 'payments', byOrder, 20_000);
 * ```
 */
export async function verifyPaymentsTable(
  dynamodb: DynamoDBClient,
  tableName: string,
  byOrder: ReadonlyMap<string, OrderPlaced>,
  count: number,
): Promise<void> {
  let items = 0;
  const wrong: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: 'orderId, sk, #status, publishedAt',
        ExpressionAttributeNames: { '#status': 'status' },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      items += 1;
      const orderId = item.orderId?.S ?? '';
      const event = byOrder.get(orderId);
      const status = item.status?.S;
      const published = item.publishedAt?.S !== undefined;
      if (
        item.sk?.S !== 'PAYMENT' ||
        event === undefined ||
        status !== expectedStatus(event) ||
        !published
      ) {
        wrong.push(
          `${orderId}/${item.sk?.S}: ${status}${published ? '' : ' unpublished'}${event ? ` (expected ${expectedStatus(event)})` : ' (no such order)'}`,
        );
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  if (items !== count || wrong.length > 0) {
    throw new Error(
      `the table holds ${items} items for ${count} orders handled; ${wrong.length} wrong${wrong.length ? `, e.g. ${wrong[0]}` : ''}`,
    );
  }
}
