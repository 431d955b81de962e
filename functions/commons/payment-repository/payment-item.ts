/**
 * The operations on an order's PAYMENT item (docs/domain.md section 6): read it,
 * start or claim its one charge, record the gateway's outcome, void it when the
 * unpaid order is cancelled. Each item is created once by a conditional write.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Money } from '#domain/money.ts';
import { callStore, toStoreError } from '../dynamodb.ts';
import type { PaymentRepository } from '../payment-repository.ts';
import { ChargeInProgressError, PaymentStateError } from './errors.ts';
import {
  type ChargeOutcome,
  key,
  PAYMENT,
  Payment,
  type PaymentStart,
  type PaymentStarted,
  type PaymentsTable,
  rawString,
} from './items.ts';

/** {@link PaymentRepository.getPayment}: the PAYMENT item, read strongly consistent. */
export async function getPayment(
  { db, tableName }: PaymentsTable,
  orderId: string,
): Promise<Payment | undefined> {
  const { Item } = await callStore('payments.get', () =>
    db.send(
      new GetCommand({
        TableName: tableName,
        Key: key(orderId, PAYMENT),
        ConsistentRead: true,
      }),
    ),
  );
  return Item ? Payment.parse(Item) : undefined;
}

/** Creates the PAYMENT item unless one exists; returns the existing one's raw item. */
async function createPaymentItem(
  { db, tableName }: PaymentsTable,
  item: Record<string, unknown>,
  operation: string,
): Promise<
  | { created: true }
  | {
      created: false;
      status?: string;
      paymentId?: string;
      existing?: Record<string, unknown>;
    }
> {
  try {
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { created: true };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      return {
        created: false,
        status: rawString(error.Item, 'status'),
        paymentId: rawString(error.Item, 'paymentId'),
        ...(error.Item ? { existing: unmarshall(error.Item) } : {}),
      };
    }
    throw toStoreError(error, operation);
  }
}

/** {@link PaymentRepository.claimCharge}: creates the CLAIMED PAYMENT item. */
export async function claimCharge(
  table: PaymentsTable,
  orderId: string,
  paymentId: string,
  amount: Money,
  now: Date,
): Promise<'claimed' | 'already-charged' | 'voided'> {
  const at = now.toISOString();
  const result = await createPaymentItem(
    table,
    {
      ...key(orderId, PAYMENT),
      orderId,
      status: 'CLAIMED',
      paymentId,
      amount,
      claimedAt: at,
      updatedAt: at,
    },
    'payments.claimCharge',
  );
  if (result.created) return 'claimed';
  if (result.status === 'VOIDED') return 'voided';
  // An interrupted attempt of the same payment may go on; anything else is decided.
  if (result.status === 'CLAIMED' && result.paymentId === paymentId) {
    return 'claimed';
  }
  return 'already-charged';
}

/**
 * {@link PaymentRepository.startPayment}: creates the CLAIMED (or REJECTED) PAYMENT
 * item, or learns the existing one from the failed condition.
 */
export async function startPayment(
  table: PaymentsTable,
  orderId: string,
  paymentId: string,
  amount: Money,
  start: PaymentStart,
  now: Date,
): Promise<PaymentStarted> {
  const at = now.toISOString();
  const item = {
    ...key(orderId, PAYMENT),
    orderId,
    paymentId,
    amount,
    claimedAt: at,
    updatedAt: at,
    ...(start.status === 'CLAIMED'
      ? { status: 'CLAIMED' }
      : {
          status: 'REJECTED',
          reason: start.reason,
          detail: start.detail,
          rejectedAt: at,
        }),
  };
  const result = await createPaymentItem(table, item, 'payments.startPayment');
  if (result.created) {
    return start.status === 'CLAIMED'
      ? { step: 'claimed' }
      : { step: 'decided', payment: Payment.parse(item) };
  }
  if (result.status === 'VOIDED') return { step: 'voided' };
  if (result.status === 'CLAIMED' && result.paymentId === paymentId) {
    return { step: 'claimed' };
  }
  return { step: 'decided', payment: Payment.parse(result.existing) };
}

/** {@link PaymentRepository.recordOutcome}: CLAIMED to CHARGED or REJECTED. */
export async function recordOutcome(
  table: PaymentsTable,
  orderId: string,
  outcome: ChargeOutcome,
  now: Date,
): Promise<Payment> {
  const { db, tableName } = table;
  const at = now.toISOString();
  const fields =
    outcome.status === 'CHARGED'
      ? { transactionId: outcome.transactionId, chargedAt: at }
      : {
          reason: outcome.reason,
          detail: outcome.detail,
          rejectedAt: at,
        };
  const assignments = Object.keys(fields).map((name) => `#${name} = :${name}`);
  try {
    const { Attributes } = await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key(orderId, PAYMENT),
        UpdateExpression: `SET #status = :status, #updatedAt = :updatedAt, ${assignments.join(', ')}`,
        ConditionExpression: '#status = :claimed',
        ExpressionAttributeNames: Object.fromEntries(
          ['status', 'updatedAt', ...Object.keys(fields)].map((name) => [
            `#${name}`,
            name,
          ]),
        ),
        ExpressionAttributeValues: {
          ':status': outcome.status,
          ':updatedAt': at,
          ':claimed': 'CLAIMED',
          ...Object.fromEntries(
            Object.entries(fields).map(([name, value]) => [`:${name}`, value]),
          ),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Payment.parse(Attributes);
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) {
      throw toStoreError(error, 'payments.recordOutcome');
    }
  }
  // Not CLAIMED: fine if this very outcome was recorded before (a retry).
  const current = await getPayment(table, orderId);
  const same =
    (current?.status === 'CHARGED' &&
      outcome.status === 'CHARGED' &&
      current.transactionId === outcome.transactionId) ||
    (current?.status === 'REJECTED' &&
      outcome.status === 'REJECTED' &&
      current.reason === outcome.reason);
  if (current && same) return current;
  throw new PaymentStateError(
    `cannot record ${outcome.status} for order ${orderId}: payment is ${current?.status ?? 'not claimed'}`,
  );
}

/** {@link PaymentRepository.voidUnpaid}: creates the VOIDED PAYMENT item. */
export async function voidUnpaid(
  table: PaymentsTable,
  orderId: string,
  reason: string,
  now: Date,
): Promise<'voided' | 'already-charged' | 'already-voided'> {
  const at = now.toISOString();
  const result = await createPaymentItem(
    table,
    {
      ...key(orderId, PAYMENT),
      orderId,
      status: 'VOIDED',
      voidReason: reason,
      voidedAt: at,
      updatedAt: at,
    },
    'payments.voidUnpaid',
  );
  if (result.created) return 'voided';
  switch (result.status) {
    case 'CHARGED':
      return 'already-charged';
    case 'VOIDED':
    case 'REJECTED':
      return 'already-voided';
    default:
      // CLAIMED: the gateway may be charging right now; decide once it has answered.
      throw new ChargeInProgressError(
        `cannot void order ${orderId} yet: a charge is in progress`,
      );
  }
}
