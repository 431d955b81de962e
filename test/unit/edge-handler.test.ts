/**
 * The one wrapper of every entry point (#commons/edge-handler.ts): the Lambda context on
 * the logger, the metrics flushed only where the function records them, and the
 * middlewares of its edge (for HTTP, #commons/http.ts `httpEdge`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { edgeHandler } from '#commons/edge-handler.ts';
import { type HttpEvent, type HttpResult, httpEdge } from '#commons/http.ts';
import { TransientError } from '#domain/failures.ts';
import { loadFixture } from '../fixtures/fixtures.ts';

const context = {
  functionName: 'edge-test',
  awsRequestId: 'edge-request',
  invokedFunctionArn:
    'arn:aws:lambda:us-east-1:123456789012:function:edge-test',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 30_000,
} as Context;

function silentLogger(): Logger {
  return new Logger({ serviceName: 'edge-test', logLevel: 'SILENT' });
}

describe('edgeHandler', () => {
  it('puts the Lambda context on the logger, and flushes the metrics it is given', async () => {
    // Prepare
    const logger = silentLogger();
    const addContext = vi.spyOn(logger, 'addContext');
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'edge' });
    const flush = vi
      .spyOn(metrics, 'publishStoredMetrics')
      .mockReturnValue(metrics);
    const handler = edgeHandler({ logger, metrics }, async () => 'done');

    // Act
    const result = await handler({}, context);

    // Assess
    expect(result).toBe('done');
    expect(addContext).toHaveBeenCalledWith(context);
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it("leaves a schedule's failure the invocation's failure", async () => {
    // Prepare
    const logger = silentLogger();
    const handler = edgeHandler({ logger }, async () => {
      throw new Error('the schedule failed');
    });

    // Act
    const run = handler({}, context);

    // Assess
    await expect(run).rejects.toThrow('the schedule failed');
  });

  it('on the HTTP edge, maps a dependency that is down to 503 with Retry-After', async () => {
    // Prepare
    const logger = silentLogger();
    const handler = edgeHandler<HttpEvent, HttpResult>(
      { logger },
      async () => {
        throw new TransientError('the store is down');
      },
      httpEdge({ logger }),
    );
    const event = structuredClone(
      loadFixture('aws-events/http-api-no-auth.json') as HttpEvent,
    );

    // Act
    const result = await handler(event, context);

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['retry-after']).toBe('5');
    expect(result.headers?.['x-correlation-id']).toBeTruthy();
  });
});
