/**
 * The admin API answers a dependency that is down as the order API does
 * (docs/domain.md section 4): 503 with Retry-After, problem+json, nothing done.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '#commons/dynamodb.ts';
import type { HttpEvent, HttpResult } from '#commons/http.ts';
import { KafkaUnavailableError } from '#commons/kafka-publisher.ts';
import type { DeadLetter } from '#domain/dead-letter.ts';
import { DEFAULT_REDRIVE_POLICY } from '#domain/redrive-policy.ts';
import { createAdminHandler } from '../../../functions/dead-letters/admin-api.ts';
import { loadFixture } from '../../fixtures/fixtures.ts';
import { MemoryDeadLetters, MemoryPublisher } from '../memory-stores.ts';

/** A well-formed dead-letter id: `<topic>:<partition>:<offset>`. */
const ID = 'order.placed.v1.dead-letter:0:1';

type Handler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

const context = {
  functionName: 'dlq-admin',
  awsRequestId: 'admin-request',
  getRemainingTimeInMillis: () => 30_000,
} as Context;
const logger = new Logger({ serviceName: 'admin', logLevel: 'SILENT' });

/** A store whose every call fails as DynamoDB does when it is down. */
class DownDeadLetters extends MemoryDeadLetters {
  override async get(): Promise<never> {
    throw new StoreUnavailableError('the store is unavailable', {
      ambiguous: false,
    });
  }
}

/** A publisher that cannot reach Kafka. */
class DownPublisher extends MemoryPublisher {
  override async send(): Promise<never> {
    throw new KafkaUnavailableError('Kafka is unavailable');
  }
}

/** A PARKED dead letter with a value, so it can be redriven. */
function parked(): DeadLetter {
  const at = '2025-01-01T00:00:00.000Z';
  return {
    id: ID,
    source: 'consumer',
    original: {
      topic: 'order.placed.v1',
      partition: 0,
      offset: '1',
      timestamp: 0,
      key: null,
      value: Buffer.from('{}').toString('base64'),
      headers: [],
    },
    error: {
      class: 'poison',
      name: 'PoisonRecordError',
      message: 'x',
      stack: null,
    },
    consumer: 'payment',
    attempt: 0,
    correlationId: 'c-1',
    failedAt: at,
    status: 'PARKED',
    redriveAt: null,
    history: [{ at, action: 'RECEIVED', by: 'dlq-reprocessor', note: null }],
    redrivenFrom: null,
    lineageId: ID,
    redrivenTo: [],
  };
}

function request(method: string, path: string): HttpEvent {
  const event = structuredClone(
    loadFixture('aws-events/http-api-no-auth.json') as HttpEvent,
  );
  return {
    ...event,
    routeKey: '$default',
    rawPath: path,
    pathParameters: { id: ID },
    rawQueryString: '',
    body: undefined,
    requestContext: {
      ...event.requestContext,
      http: { ...event.requestContext.http, method, path },
    },
  } as HttpEvent;
}

describe('the admin API with a dependency down', () => {
  it('answers 503 with Retry-After when the store is down, as the order API does', async () => {
    // Prepare
    const admin = createAdminHandler({
      deadLetters: new DownDeadLetters(),
      publisher: new MemoryPublisher(),
      policy: DEFAULT_REDRIVE_POLICY,
      now: () => new Date('2025-01-02T00:00:00.000Z'),
      random: () => 0.5,
      logger,
    }) as unknown as Handler;

    // Act
    const result = await admin(request('GET', `/dead-letters/${ID}`), context);

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('5');
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({
      type: '/problems/unavailable',
      status: 503,
    });
  });

  it('answers 503 with Retry-After when Kafka is down, and the letter stays PARKED', async () => {
    // Prepare
    const deadLetters = new MemoryDeadLetters([parked()]);
    const admin = createAdminHandler({
      deadLetters,
      publisher: new DownPublisher(),
      policy: DEFAULT_REDRIVE_POLICY,
      now: () => new Date('2025-01-02T00:00:00.000Z'),
      random: () => 0.5,
      logger,
    }) as unknown as Handler;

    // Act
    const result = await admin(
      request('POST', `/dead-letters/${ID}/redrive`),
      context,
    );

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('5');
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({
      type: '/problems/unavailable',
    });
    expect(deadLetters.letters.get(ID)?.status).toBe('PARKED');
  });
});
