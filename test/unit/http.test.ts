import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { CircuitOpenError } from '#commons/circuit-breaker.ts';
import {
  type HttpEvent,
  type HttpResult,
  MAX_JSON_DEPTH,
  ProblemError,
  parseJsonBody,
  problemResponses,
} from '#commons/http.ts';
import { KafkaUnavailableError } from '#commons/kafka-publisher.ts';
import { TransientError } from '#domain/failures.ts';
import { loadFixture } from '../fixtures/fixtures.ts';

/** A handler that throws `error`, behind the shared error middleware; its answer. */
async function answerTo(error: Error) {
  const logged: string[] = [];
  const log = (level: string) => (message: string) => {
    logged.push(`${level}: ${message}`);
  };
  const handler = middy<HttpEvent, HttpResult>()
    .use(
      problemResponses({ logger: { error: log('error'), warn: log('warn') } }),
    )
    .handler(async () => {
      throw error;
    });
  const event = loadFixture('aws-events/http-api-no-auth.json') as HttpEvent;
  const result = (await handler(event, {} as never)) as {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
  };
  return { ...result, problem: JSON.parse(result.body), logged };
}

describe('problemResponses: a dependency that is down', () => {
  it.each([
    ['Kafka unreachable', new KafkaUnavailableError('Broker not connected')],
    ['DynamoDB throttled', new TransientError('throttled')],
  ])(
    'answers %s with 503 and Retry-After, logged as a warning',
    async (_, error) => {
      // Act
      const answer = await answerTo(error);

      // Assess
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after']).toBe('5');
      expect(answer.problem).toMatchObject({
        type: '/problems/unavailable',
        status: 503,
      });
      expect(answer.logged).toEqual(['warn: dependency unavailable']);
    },
  );

  it('takes the Retry-After of an open circuit breaker', async () => {
    // Act
    const answer = await answerTo(
      new CircuitOpenError('open', { retryAfterSeconds: 42 }),
    );

    // Assess
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after']).toBe('42');
  });

  it('answers anything else with a logged 500 that names no internals', async () => {
    // Act
    const answer = await answerTo(new Error('secret table name'));

    // Assess
    expect(answer.statusCode).toBe(500);
    expect(answer.body).not.toContain('secret');
    expect(answer.logged).toEqual(['error: unhandled error']);
  });
});

describe('parseJsonBody: nesting', () => {
  const eventWith = (body: string): HttpEvent => ({
    ...(loadFixture('aws-events/http-api-no-auth.json') as HttpEvent),
    headers: { 'content-type': 'application/json' },
    body,
  });
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('takes a body nested as deep as the limit', () => {
    // Act
    const parsed = parseJsonBody(
      eventWith(nested(MAX_JSON_DEPTH)),
      z.unknown(),
    );

    // Assess
    expect(Array.isArray(parsed)).toBe(true);
  });

  it('refuses one level more with 400 invalid-json', () => {
    // Act
    const parse = () =>
      parseJsonBody(eventWith(nested(MAX_JSON_DEPTH + 1)), z.unknown());

    // Assess
    expect(parse).toThrow(ProblemError);
    expect(parse).toThrow(/deeper than 64 levels/);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    // Prepare
    const text = JSON.stringify({
      a: '\\"[[['.repeat(100),
      b: '{'.repeat(100),
    });

    // Act
    const parsed = parseJsonBody(eventWith(text), z.unknown());

    // Assess
    expect(parsed).toEqual(JSON.parse(text));
  });
});
