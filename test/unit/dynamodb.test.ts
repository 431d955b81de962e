import {
  DynamoDBServiceException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  callStore,
  createDocumentClient,
  isAmbiguousStoreFailure,
  StoreUnavailableError,
} from '#commons/dynamodb.ts';

const CREDENTIALS = { accessKeyId: 'unit', secretAccessKey: 'unit' };

/** An OS-level socket error, as Node raises it. */
function socketError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code} 127.0.0.1:8000`), {
    code,
    syscall,
  });
}

/** The error the SDK's handler raises when its request timeout fires. */
function requestTimeout(): Error {
  return Object.assign(
    new Error(
      '@smithy/node-http-handler - [ERROR] a request has exceeded the configured 1000 ms requestTimeout.',
    ),
    { name: 'TimeoutError', code: 'ETIMEDOUT' },
  );
}

/** The error the SDK's handler raises when a connection does not open in time. */
function connectTimeout(): Error {
  return Object.assign(
    new Error(
      '@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 1000 ms.',
    ),
    { name: 'TimeoutError' },
  );
}

/** An error DynamoDB answered with. */
function serviceError(name: string, status: number): Error {
  return new DynamoDBServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

/** A document client whose every attempt fails with the next of `failures`. */
function clientFailingWith(failures: Error[], maxAttempts: number) {
  let attempts = 0;
  const db = createDocumentClient(
    { endpoint: 'http://127.0.0.1:1', region: 'us-east-1' },
    {
      credentials: CREDENTIALS,
      maxAttempts,
      requestHandler: {
        handle: async () => {
          const failure = failures[Math.min(attempts, failures.length - 1)];
          attempts += 1;
          throw failure;
        },
      },
    },
  );
  return { db, attempts: () => attempts };
}

async function failureOf(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('isAmbiguousStoreFailure', () => {
  it.each([
    ['a refused connection', socketError('ECONNREFUSED', 'connect'), false],
    ['an unknown host', socketError('ENOTFOUND', 'getaddrinfo'), false],
    ['an OS connect timeout', socketError('ETIMEDOUT', 'connect'), false],
    ["the SDK's connect timeout", connectTimeout(), false],
    [
      'refusals on both addresses of a name',
      new AggregateError([
        socketError('ECONNREFUSED', 'connect'),
        socketError('ECONNREFUSED', 'connect'),
      ]),
      false,
    ],
    ['throttling', serviceError('ThrottlingException', 400), false],
    [
      'exceeded throughput',
      serviceError('ProvisionedThroughputExceededException', 400),
      false,
    ],
    ['a validation error', serviceError('ValidationException', 400), false],
    [
      'a cancelled transaction',
      new TransactionCanceledException({
        $metadata: { httpStatusCode: 400 },
        message: 'cancelled',
        CancellationReasons: [{ Code: 'ThrottlingError' }],
      }),
      false,
    ],
    ["the SDK's request timeout", requestTimeout(), true],
    ['a reset connection', socketError('ECONNRESET', 'read'), true],
    ['a broken pipe', socketError('EPIPE', 'write'), true],
    [
      'an internal server error',
      serviceError('InternalServerError', 500),
      true,
    ],
    [
      'a transaction of the same token in progress',
      serviceError('TransactionInProgressException', 400),
      true,
    ],
    ['something unknown', new Error('what happened?'), true],
  ])('%s: ambiguous %s', (_label, error, expected) => {
    expect(isAmbiguousStoreFailure(error)).toBe(expected);
  });
});

describe('callStore through createDocumentClient', () => {
  it('marks a refused store as definite: nothing was written', async () => {
    // Prepare
    const refused = socketError('ECONNREFUSED', 'connect');
    const { db, attempts } = clientFailingWith([refused], 2);

    // Act
    const error = await failureOf(
      callStore('orders.get', () =>
        db.send(new GetCommand({ TableName: 't', Key: { pk: 'k' } })),
      ),
    );

    // Assess
    expect(attempts()).toBe(2);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).ambiguous).toBe(false);
    expect((error as Error).cause).toBe(refused);
  });

  it('marks a timed-out store as ambiguous: the write may have happened', async () => {
    // Prepare
    const { db } = clientFailingWith([requestTimeout()], 2);

    // Act
    const error = await failureOf(
      callStore('orders.get', () =>
        db.send(new GetCommand({ TableName: 't', Key: { pk: 'k' } })),
      ),
    );

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).ambiguous).toBe(true);
  });

  it('stays ambiguous when a timed-out attempt is retried and then refused', async () => {
    // Prepare: the first attempt may have been applied; the retry says nothing of it.
    const { db, attempts } = clientFailingWith(
      [requestTimeout(), socketError('ECONNREFUSED', 'connect')],
      2,
    );

    // Act
    const error = await failureOf(
      callStore('orders.get', () =>
        db.send(new GetCommand({ TableName: 't', Key: { pk: 'k' } })),
      ),
    );

    // Assess
    expect(attempts()).toBe(2);
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect((error as StoreUnavailableError).ambiguous).toBe(true);
  });

  it('gives up after the budget: maxAttempts attempts and no more', async () => {
    // Prepare
    const { db, attempts } = clientFailingWith([requestTimeout()], 3);

    // Act
    await failureOf(
      db.send(new GetCommand({ TableName: 't', Key: { pk: 'k' } })),
    );

    // Assess
    expect(attempts()).toBe(3);
  });

  it('reads its budget from the configuration', async () => {
    // Prepare
    const db = createDocumentClient(
      {
        endpoint: 'http://127.0.0.1:1',
        region: 'us-east-1',
        budget: {
          connectTimeoutMs: 111,
          requestTimeoutMs: 222,
          maxAttempts: 4,
        },
      },
      { credentials: CREDENTIALS },
    );

    // Act: one call (to a closed port) makes the handler resolve its settings.
    await failureOf(
      db.send(new GetCommand({ TableName: 't', Key: { pk: 'k' } })),
    );
    const maxAttempts = await db.config.maxAttempts();
    // The SDK types the handler as a union; the node one has httpHandlerConfigs().
    const handler = db.config.requestHandler as unknown as {
      httpHandlerConfigs(): Record<string, unknown>;
    };
    const settings = handler.httpHandlerConfigs();

    // Assess
    expect(maxAttempts).toBe(4);
    expect(settings).toMatchObject({
      connectionTimeout: 111,
      requestTimeout: 222,
      throwOnRequestTimeout: true,
    });
    db.destroy();
  });
});
