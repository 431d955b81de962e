/**
 * The admin API answers a dependency that is down as the order API does
 * (docs/domain.md section 4): 503 with Retry-After, problem+json, nothing done.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '#commons/dynamodb.ts';
import type { HttpEvent, HttpResult } from '#commons/http.ts';
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

function getRequest(path: string): HttpEvent {
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
      http: { ...event.requestContext.http, method: 'GET', path },
    },
  } as HttpEvent;
}

describe('the admin API with its store down', () => {
  it('answers 503 with Retry-After, as the order API does', async () => {
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
    const result = await admin(getRequest(`/dead-letters/${ID}`), context);

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('5');
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({
      type: '/problems/unavailable',
      status: 503,
    });
  });
});
