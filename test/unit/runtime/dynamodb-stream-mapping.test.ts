/**
 * The pure parts of the local DynamoDB stream mapping
 * (local/runtime/dynamodb-stream/): a GetRecords record turned into the
 * record Lambda hands a function, and the partial batch response rule
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
 * The mapping against a real DynamoDB Local is in
 * test/integration/runtime/dynamodb-stream-mapping.test.ts.
 */
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas/dynamodb';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { streamLabel } from '../../../local/runtime/dynamodb-stream/mapping.ts';
import { firstFailure } from '../../../local/runtime/dynamodb-stream/partial-batch-response.ts';
import {
  type LambdaStreamRecord,
  toLambdaRecord,
} from '../../../local/runtime/dynamodb-stream/stream-records.ts';
import type { InvokeResult } from '../../../local/runtime/lambda.ts';
import type { LocalStreamMapping } from '../../../local/runtime/template.ts';

const STREAM_ARN =
  'arn:aws:dynamodb:ddblocal:000000000000:table/orders/stream/2026-01-01T00:00:00.000';
const REGION = 'eu-west-1';

/** A record as the SDK parses GetRecords: Date timestamps, Uint8Array binaries. */
function sdkRecord(overrides: Partial<_Record['dynamodb']> = {}): _Record {
  return {
    eventID: 'e1',
    eventName: 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'ddblocal',
    dynamodb: {
      ApproximateCreationDateTime: new Date('2026-03-04T05:06:07.890Z'),
      Keys: { pk: { S: 'ORDER#1' }, sk: { S: 'SNAPSHOT' } },
      NewImage: { pk: { S: 'ORDER#1' }, sk: { S: 'SNAPSHOT' }, n: { N: '2' } },
      OldImage: { pk: { S: 'ORDER#1' }, sk: { S: 'SNAPSHOT' }, n: { N: '1' } },
      SequenceNumber: '000000000000000000101',
      SizeBytes: 42,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...overrides,
    },
  };
}

describe('toLambdaRecord', () => {
  it('has the fields of a Lambda DynamoDB stream record, in their order', () => {
    // Act
    const record = toLambdaRecord(sdkRecord(), STREAM_ARN, REGION);

    // Assess
    expect(Object.keys(record)).toEqual([
      'eventID',
      'eventName',
      'eventVersion',
      'eventSource',
      'awsRegion',
      'dynamodb',
      'eventSourceARN',
    ]);
    expect(record).toMatchObject({
      eventID: 'e1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: REGION,
      eventSourceARN: STREAM_ARN,
    });
    expect(Object.keys(record.dynamodb)).toEqual([
      'ApproximateCreationDateTime',
      'Keys',
      'NewImage',
      'OldImage',
      'SequenceNumber',
      'SizeBytes',
      'StreamViewType',
    ]);
    expect(DynamoDBStreamSchema.safeParse({ Records: [record] }).success).toBe(
      true,
    );
  });

  it('gives ApproximateCreationDateTime in whole epoch seconds, rounded down', () => {
    // Act
    const record = toLambdaRecord(sdkRecord(), STREAM_ARN, REGION);

    // Assess
    expect(record.dynamodb.ApproximateCreationDateTime).toBe(
      Date.parse('2026-03-04T05:06:07Z') / 1000,
    );
  });

  it("sharpens DynamoDB Local's minute to the second the mapping read the record", () => {
    // Prepare: DynamoDB Local stamps the minute; the record was read 37 s into it.
    const minute = sdkRecord();
    (
      minute.dynamodb as { ApproximateCreationDateTime: Date }
    ).ApproximateCreationDateTime = new Date('2026-03-04T05:06:00Z');
    const readAt = Date.parse('2026-03-04T05:06:37.900Z');

    // Act
    const sharpened = toLambdaRecord(minute, STREAM_ARN, REGION, readAt);
    const later = toLambdaRecord(
      sdkRecord(),
      STREAM_ARN,
      REGION,
      Date.parse('2026-03-04T05:06:01Z'),
    );

    // Assess: the later of the two, in whole seconds; never before the stamp.
    expect(sharpened.dynamodb.ApproximateCreationDateTime).toBe(
      Date.parse('2026-03-04T05:06:37Z') / 1000,
    );
    expect(later.dynamodb.ApproximateCreationDateTime).toBe(
      Date.parse('2026-03-04T05:06:07Z') / 1000,
    );
  });

  it('encodes binary attributes in base64, inside maps and lists too', () => {
    // Prepare
    const bytes = Uint8Array.of(0, 1, 2, 250, 255);
    const other = Uint8Array.of(104, 105);
    const image = {
      pk: { S: 'ORDER#1' },
      blob: { B: bytes },
      blobs: { BS: [bytes, other] },
      nested: {
        M: {
          inner: { B: other },
          list: {
            L: [{ B: bytes }, { N: '7' }, { M: { deep: { B: other } } }],
          },
        },
      },
    };

    // Act
    const record = toLambdaRecord(
      sdkRecord({ NewImage: image, OldImage: undefined }),
      STREAM_ARN,
      REGION,
    );

    // Assess
    expect(record.dynamodb.NewImage).toEqual({
      pk: { S: 'ORDER#1' },
      blob: { B: 'AAEC+v8=' },
      blobs: { BS: ['AAEC+v8=', 'aGk='] },
      nested: {
        M: {
          inner: { B: 'aGk=' },
          list: {
            L: [{ B: 'AAEC+v8=' }, { N: '7' }, { M: { deep: { B: 'aGk=' } } }],
          },
        },
      },
    });
    // Through JSON, as the function gets it: no Uint8Array left anywhere.
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it('keeps the other attribute types as they are', () => {
    // Prepare
    const image = {
      s: { S: 'x' },
      n: { N: '12.50' },
      ss: { SS: ['a', 'b'] },
      ns: { NS: ['1', '2'] },
      yes: { BOOL: true },
      none: { NULL: true },
    };

    // Act
    const record = toLambdaRecord(
      sdkRecord({ NewImage: image }),
      STREAM_ARN,
      REGION,
    );

    // Assess
    expect(record.dynamodb.NewImage).toEqual(image);
  });

  it('leaves out the images a record does not have', () => {
    // Act
    const insert = toLambdaRecord(
      { ...sdkRecord({ OldImage: undefined }), eventName: 'INSERT' },
      STREAM_ARN,
      REGION,
    );
    const remove = toLambdaRecord(
      { ...sdkRecord({ NewImage: undefined }), eventName: 'REMOVE' },
      STREAM_ARN,
      REGION,
    );

    // Assess
    expect(insert.dynamodb).not.toHaveProperty('OldImage');
    expect(remove.dynamodb).not.toHaveProperty('NewImage');
    expect(
      DynamoDBStreamSchema.safeParse({ Records: [insert, remove] }).success,
    ).toBe(true);
  });

  it('names the service on a deletion by TTL, as Lambda does', () => {
    // Act
    const record = toLambdaRecord(
      {
        ...sdkRecord({ NewImage: undefined }),
        eventName: 'REMOVE',
        userIdentity: {
          Type: 'Service',
          PrincipalId: 'dynamodb.amazonaws.com',
        },
      },
      STREAM_ARN,
      REGION,
    );

    // Assess
    expect(record.userIdentity).toEqual({
      type: 'Service',
      principalId: 'dynamodb.amazonaws.com',
    });
    expect(DynamoDBStreamSchema.safeParse({ Records: [record] }).success).toBe(
      true,
    );
  });
});

describe('firstFailure', () => {
  const MAPPING: LocalStreamMapping = {
    logicalId: 'Relay',
    functionLogicalId: 'OutboxRelay',
    tableLogicalId: 'Orders',
    startingPosition: 'TRIM_HORIZON',
    batchSize: 100,
    maximumBatchingWindowSeconds: 0,
    maximumRetryAttempts: -1,
    maximumRecordAgeSeconds: -1,
    bisectBatchOnFunctionError: false,
    reportBatchItemFailures: true,
    parallelizationFactor: 1,
    enabled: true,
    filters: [],
  };
  const SEQUENCES = ['100', '200', '300', '400'];
  const BATCH: LambdaStreamRecord[] = SEQUENCES.map((sequence) =>
    toLambdaRecord(sdkRecord({ SequenceNumber: sequence }), STREAM_ARN, REGION),
  );
  const returned = (result: unknown): InvokeResult => ({
    ok: true,
    result,
    durationMs: 1,
  });
  const failed = (...ids: unknown[]) =>
    returned({
      batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })),
    });

  it.each([
    ['null', null],
    ['an empty object', {}],
    ['a null list', { batchItemFailures: null }],
    ['an empty list', { batchItemFailures: [] }],
  ])('takes %s as a success', (_, result) => {
    expect(firstFailure(returned(result), BATCH, MAPPING)).toBeUndefined();
  });

  it('retries from the lowest sequence number named, whatever the order', () => {
    expect(firstFailure(failed('400', '200', '300'), BATCH, MAPPING)).toBe(1);
    expect(firstFailure(failed('300'), BATCH, MAPPING)).toBe(2);
  });

  it.each([
    ['an empty identifier', ['']],
    ['a null identifier', [null]],
    ['a number', [200]],
    ['an unknown sequence number', ['300', '999']],
  ])('fails the whole batch on %s', (_, ids) => {
    expect(firstFailure(failed(...ids), BATCH, MAPPING)).toBe(0);
  });

  it('fails the whole batch on an item without itemIdentifier', () => {
    expect(
      firstFailure(
        returned({ batchItemFailures: [{ id: '200' }] }),
        BATCH,
        MAPPING,
      ),
    ).toBe(0);
  });

  it('fails the whole batch on a function error', () => {
    // Prepare
    const error: InvokeResult = {
      ok: false,
      errorType: 'Error',
      errorMessage: 'boom',
      timedOut: false,
      durationMs: 1,
    };

    // Act, Assess
    expect(firstFailure(error, BATCH, MAPPING)).toBe(0);
  });

  it('ignores a partial batch response unless ReportBatchItemFailures is on', () => {
    expect(
      firstFailure(failed('200'), BATCH, {
        ...MAPPING,
        reportBatchItemFailures: false,
      }),
    ).toBeUndefined();
  });
});

describe('streamLabel', () => {
  it.each([
    ['DataOrders20A4E13F', 'DataOrders stream'],
    ['orders', 'orders stream'],
    // Only a CDK hash (8 upper-case hex digits) goes, never the whole name.
    ['ABCDEF12', 'ABCDEF12 stream'],
    ['Ordersabcdef12', 'Ordersabcdef12 stream'],
  ])('names the stream of table %s "%s"', (table, label) => {
    expect(streamLabel(table)).toBe(label);
  });
});
