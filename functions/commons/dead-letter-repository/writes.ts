/**
 * Writing dead letters: storing a new one, moving one to another status (appending to
 * its history), and linking one to the letter it came back as after a redrive. Every
 * write that sets the status maintains the index keys `statusShard` and `sortAt`.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type DeadLetter, DeadLetterStatus } from '#domain/dead-letter.ts';
import type {
  DeadLetterRepository,
  DeadLetterTransition,
} from '../dead-letter-repository.ts';
import { statusShardOf } from '../dead-letter-shards.ts';
import { toStoreError } from '../dynamodb.ts';
import { DeadLetterNotFoundError, DeadLetterStateError } from './errors.ts';
import { type DeadLettersTable, fromItem, normalisedTime } from './items.ts';

/** {@link DeadLetterRepository.save}: puts a new letter, once. */
export async function saveDeadLetter(
  { db, tableName }: DeadLettersTable,
  letter: DeadLetter,
): Promise<'saved' | 'exists'> {
  // redrivenTo is a string set, which DynamoDB cannot store empty: linkRedrive
  // creates it.
  const { redrivenTo, ...rest } = letter;
  if (redrivenTo.length > 0) {
    throw new RangeError('a new dead letter has no redrivenTo yet');
  }
  const stored = {
    ...rest,
    failedAt: normalisedTime(letter.failedAt),
    redriveAt: letter.redriveAt ? normalisedTime(letter.redriveAt) : null,
  };
  if (stored.status === 'SCHEDULED' && !stored.redriveAt) {
    throw new RangeError(`a SCHEDULED dead letter needs a redriveAt`);
  }
  try {
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...stored,
          statusShard: statusShardOf(stored.status, stored.id),
          sortAt:
            stored.status === 'SCHEDULED' ? stored.redriveAt : stored.failedAt,
        },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
    return 'saved';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'exists';
    throw toStoreError(error, 'deadLetters.save');
  }
}

/**
 * {@link DeadLetterRepository.transition}: one conditional update of the status, its
 * index keys and the history.
 */
export async function transitionDeadLetter(
  { db, tableName }: DeadLettersTable,
  id: string,
  from: readonly DeadLetterStatus[],
  to: DeadLetterTransition,
): Promise<DeadLetter> {
  if (from.length === 0) {
    throw new RangeError('transition needs at least one status to move from');
  }
  if (to.status === 'SCHEDULED' && !to.redriveAt) {
    throw new RangeError('a transition to SCHEDULED needs a redriveAt');
  }
  const redriveAt = to.redriveAt ? normalisedTime(to.redriveAt) : null;
  const sets = [
    '#status = :status',
    'statusShard = :statusShard',
    'redriveAt = :redriveAt',
    // failedAt is stored normalised, so both kinds of sortAt compare as times.
    to.status === 'SCHEDULED' ? 'sortAt = :redriveAt' : 'sortAt = failedAt',
    '#history = list_append(#history, :entry)',
  ];
  const names: Record<string, string> = {
    '#status': 'status',
    '#history': 'history',
  };
  const values: Record<string, unknown> = {
    ':status': to.status,
    ':statusShard': statusShardOf(to.status, id),
    ':redriveAt': redriveAt,
    ':entry': [to.action],
    ...Object.fromEntries(from.map((status, i) => [`:from${i}`, status])),
  };
  if (to.attempt !== undefined) {
    sets.push('attempt = :attempt');
    values[':attempt'] = to.attempt;
  }
  try {
    const { Attributes } = await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { id },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: `attribute_exists(id) AND #status IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return fromItem(Attributes ?? {});
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw refusal(id, from, to.status, error.Item);
    }
    throw toStoreError(error, 'deadLetters.transition');
  }
}

function refusal(
  id: string,
  from: readonly DeadLetterStatus[],
  to: DeadLetterStatus,
  old: Record<string, AttributeValue> | undefined,
): Error {
  const current = DeadLetterStatus.safeParse(old?.status?.S);
  if (!current.success) {
    return new DeadLetterNotFoundError(`no dead letter ${id}`);
  }
  return new DeadLetterStateError(
    `dead letter ${id} is ${current.data}; it can become ${to} only from ${from.join(' or ')}`,
    current.data,
  );
}

/** {@link DeadLetterRepository.linkRedrive}: adds `to` to the `redrivenTo` set of `from`. */
export async function linkRedrive(
  { db, tableName }: DeadLettersTable,
  from: string,
  to: string,
): Promise<void> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { id: from },
        // ADD to a string set: a second call (a redelivered letter) adds nothing.
        UpdateExpression: 'ADD redrivenTo :to',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':to': new Set([to]) },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new DeadLetterNotFoundError(`no dead letter ${from}`, {
        cause: error,
      });
    }
    throw toStoreError(error, 'deadLetters.linkRedrive');
  }
}
