/**
 * A DynamoDB stream record as Lambda hands it to a function (`aws:dynamodb`,
 * timestamps in whole epoch seconds, binary attributes in base64), made from a
 * GetRecords record of DynamoDB Local.
 */
import type { _Record, AttributeValue } from '@aws-sdk/client-dynamodb-streams';

/** A stream record as Lambda delivers it. */
export interface LambdaStreamRecord {
  readonly eventID: string;
  readonly eventName: string;
  readonly eventVersion: string;
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: Record<string, unknown>;
  readonly eventSourceARN: string;
  /** `{ type: 'Service', principalId: 'dynamodb.amazonaws.com' }` on a TTL delete. */
  readonly userIdentity?: {
    readonly type?: string;
    readonly principalId?: string;
  };
}

/**
 * A record of GetRecords as Lambda hands it to a function: timestamps in whole
 * epoch seconds, binary attributes in base64, the stream's ARN and the region added.
 * `readAtMs`, when the mapping read the record, sharpens DynamoDB Local's creation
 * time (see {@link creationSeconds}).
 */
export function toLambdaRecord(
  record: _Record,
  streamArn: string,
  region: string,
  readAtMs?: number,
): LambdaStreamRecord {
  const data = record.dynamodb ?? {};
  const created = creationSeconds(data.ApproximateCreationDateTime, readAtMs);
  const image = (value: Record<string, AttributeValue> | undefined) =>
    value === undefined ? {} : { value: toJsonImage(value) };
  const keys = image(data.Keys);
  const newImage = image(data.NewImage);
  const oldImage = image(data.OldImage);
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName ?? '',
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ...(created === undefined
        ? {}
        : { ApproximateCreationDateTime: created }),
      ...('value' in keys ? { Keys: keys.value } : {}),
      ...('value' in newImage ? { NewImage: newImage.value } : {}),
      ...('value' in oldImage ? { OldImage: oldImage.value } : {}),
      SequenceNumber: data.SequenceNumber,
      SizeBytes: data.SizeBytes,
      StreamViewType: data.StreamViewType,
    },
    eventSourceARN: streamArn,
    // Only on a deletion by TTL, as Lambda has it.
    ...(record.userIdentity
      ? {
          userIdentity: {
            type: record.userIdentity.Type,
            principalId: record.userIdentity.PrincipalId,
          },
        }
      : {}),
  };
}

function toJsonImage(
  image: Record<string, AttributeValue>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(image).map(([name, value]) => [name, toJsonValue(value)]),
  );
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** An attribute value in the JSON of Lambda's event (binary as base64). */
function toJsonValue(value: AttributeValue): unknown {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: toJsonImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toJsonValue) };
  return value;
}

/**
 * `ApproximateCreationDateTime` in whole epoch seconds, as AWS gives it. DynamoDB
 * Local rounds it down to the minute; the second the mapping read the record is a
 * closer bound (never before the write), so the later of the two is given. The relay
 * counts from it while a fence may still be on its way (docs/outbox.md).
 */
export function creationSeconds(
  created: Date | undefined,
  readAtMs?: number,
): number | undefined {
  if (created === undefined) return undefined;
  const seconds = Math.floor(created.getTime() / 1000);
  return readAtMs === undefined
    ? seconds
    : Math.max(seconds, Math.floor(readAtMs / 1000));
}
