import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitForDynamoDb } from '#platform/dynamodb.ts';
import {
  AlreadyRunningError,
  describeError,
  JavaNotFoundError,
  PortInUseError,
  ServerNotReadyError,
} from '#platform/errors.ts';
import { acquireInstance, readInstance } from '#platform/instance.ts';
import { findJava, parseJavaMajor } from '#platform/java.ts';
import { brokerProperties, newClusterId } from '#platform/kafka.ts';
import { createTables } from '#platform/platform.ts';
import { checkPorts, claimPort, parsePort } from '#platform/ports.ts';
import { startsServers } from '#platform/serve.ts';
import { retryRetriable } from '#platform/wait.ts';
import { startStreamMapping } from '../../local/runtime/dynamodb-stream/mapping.ts';
import { holdPort } from '../hold-port.ts';

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_392"', 8],
    ['no version here', undefined],
  ])('reads %j as %s', (output, major) => {
    expect(parseJavaMajor(output)).toBe(major);
  });
});

describe('findJava', () => {
  it('names JAVA_HOME and the fix when the runtime is missing', () => {
    // Prepare
    const env = { ...process.env, JAVA_HOME: '/nonexistent/jdk' };

    // Act
    const find = () => findJava(env);

    // Assess
    expect(find).toThrow(JavaNotFoundError);
    expect(find).toThrow(/JAVA_HOME=\/nonexistent\/jdk/);
  });
});

describe('brokerProperties', () => {
  const properties = brokerProperties({
    port: 19092,
    controllerPort: 19093,
    dataDir: '/tmp/k/data',
  });

  it('listens on loopback only, for clients and the controller', () => {
    expect(properties).toContain(
      'listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
    );
    expect(properties).toContain(
      'advertised.listeners=PLAINTEXT://127.0.0.1:19092',
    );
    expect(properties).not.toMatch(/0\.0\.0\.0|localhost/);
  });

  it('does not auto-create topics, as on MSK', () => {
    expect(properties).toContain('auto.create.topics.enable=false');
  });

  it('runs one KRaft node that is broker and controller', () => {
    expect(properties).toContain('process.roles=broker,controller');
    expect(properties).toContain('controller.quorum.voters=1@127.0.0.1:19093');
  });

  it('does not fence its own broker over a heartbeat a busy machine delayed', () => {
    expect(properties).toContain('broker.session.timeout.ms=60000');
  });

  it('waits out its old session when restarted after a kill, instead of exiting', () => {
    expect(properties).toContain(
      'initial.broker.registration.timeout.ms=180000',
    );
  });
});

describe('newClusterId', () => {
  it('is 22 base64url characters, as Kafka requires', () => {
    expect(newClusterId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('never starts with "-", which the storage tool would take for an option', () => {
    // One id in 64 would start with '-' if nothing prevented it.
    const ids = Array.from({ length: 2_000 }, newClusterId);
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
  });
});

describe('parsePort', () => {
  it.each([
    ['9092', 9092],
    ['0', 0],
    [' 3000 ', 3000],
    ['65535', 65_535],
  ])('reads %j as %i', (raw, port) => {
    expect(parsePort(raw, 'KAFKA_PORT')).toBe(port);
  });

  it.each(['', 'abc', '-1', '65536', '80.5', '0x50'])(
    'refuses %j, naming the setting and what it takes',
    (raw) => {
      // Act
      const error = (() => {
        try {
          return parsePort(raw, 'PORT');
        } catch (e) {
          return e;
        }
      })();

      // Assess
      expect(describeError(error)).toBe(
        `PORT=${raw} is not a port number. Fix: set PORT to a whole number from 1 to 65535, or 0 for a free port`,
      );
    },
  );
});

describe('checkPorts', () => {
  const held: Server[] = [];
  afterEach(() => {
    for (const server of held.splice(0)) server.close();
  });

  it('names the setting of the taken port among free ones', async () => {
    // Prepare
    const taken = await holdPort();
    held.push(taken.server);
    const free = await claimPort(0, 'unused');

    // Act
    const check = checkPorts([
      { port: free, setting: 'KAFKA_PORT' },
      { port: taken.port, setting: 'PORT (or --port)' },
      { port: 0, setting: 'DYNAMODB_PORT' },
      { port: undefined, setting: 'ANY' },
    ]);

    // Assess
    await expect(check).rejects.toBeInstanceOf(PortInUseError);
    const error = await check.catch((e: unknown) => e);
    expect(describeError(error)).toMatch(
      new RegExp(
        `^port ${taken.port} on 127\\.0\\.0\\.1 .*set PORT \\(or --port\\)`,
      ),
    );
  });

  it('passes when every port is free, and holds none of them afterwards', async () => {
    // Prepare
    const port = await claimPort(0, 'unused');

    // Act
    await checkPorts([{ port, setting: 'KAFKA_PORT' }]);

    // Assess: the port can be bound again at once.
    await expect(claimPort(port, 'KAFKA_PORT')).resolves.toBe(port);
  });
});

describe('waitForDynamoDb', () => {
  const held: Server[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const server of held.splice(0)) server.close();
  });

  it('ends an unanswered attempt at its timeout, without the SDK requestTimeout warning', async () => {
    // Prepare: a "DynamoDB" that accepts connections and never answers, as a JVM
    // still starting does; the SDK's handler warns through console.warn.
    const silent = await holdPort();
    held.push(silent.server);
    silent.server.on('connection', (socket) => {
      silent.server.once('close', () => socket.destroy());
    });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});

    // Act: a deadline past the first attempt's 2 s request timeout.
    const wait = waitForDynamoDb(`http://127.0.0.1:${silent.port}`, 2_500);
    const outcome = await Promise.race([
      wait.catch((error: unknown) => error),
      // Without the timeout enforced, the attempt would wait for ever.
      new Promise((resolve) =>
        setTimeout(() => resolve('still waiting after 15 s'), 15_000).unref(),
      ),
    ]);

    // Assess
    expect(outcome).toBeInstanceOf(ServerNotReadyError);
    expect(warn.mock.calls.flat().join('\n')).not.toMatch(/requestTimeout/);
  });
});

describe('the local tools against a DynamoDB that never answers', () => {
  const held: Server[] = [];
  afterEach(() => {
    for (const server of held.splice(0)) server.close();
  });

  /** A "DynamoDB" that accepts connections and never answers: a frozen JVM. */
  async function frozenDynamoDb(): Promise<string> {
    const silent = await holdPort();
    held.push(silent.server);
    silent.server.on('connection', (socket) => {
      silent.server.once('close', () => socket.destroy());
    });
    return `http://127.0.0.1:${silent.port}`;
  }

  /** The outcome of `work`, or a marker when it is still waiting after 15 s. */
  function settled(work: Promise<unknown>): Promise<unknown> {
    return Promise.race([
      work.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      new Promise((resolve) =>
        setTimeout(() => resolve('still waiting after 15 s'), 15_000).unref(),
      ),
    ]);
  }

  it('createTables fails at its request timeout instead of waiting for ever', async () => {
    // Prepare
    const endpoint = await frozenDynamoDb();

    // Act
    const outcome = await settled(
      createTables(
        endpoint,
        [
          {
            TableName: 't',
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
            BillingMode: 'PAY_PER_REQUEST',
          },
        ],
        { requestTimeoutMs: 300 },
      ),
    );

    // Assess
    expect(outcome).toBeInstanceOf(Error);
    expect(String(outcome)).toMatch(/timeout|timed out/i);
  });

  it('a stream mapping fails to start at its request timeout instead of waiting for ever', async () => {
    // Prepare
    const endpoint = await frozenDynamoDb();

    // Act
    const outcome = await settled(
      startStreamMapping(
        {
          logicalId: 'Relay',
          functionLogicalId: 'Fn',
          tableLogicalId: 'Orders',
        } as unknown as Parameters<typeof startStreamMapping>[0],
        {
          name: 'fn',
          invoke: async () => ({ ok: true, result: null }),
        } as never,
        { endpoint, requestTimeoutMs: 300 },
      ),
    );

    // Assess
    expect(outcome).toBeInstanceOf(Error);
    expect(String(outcome)).toMatch(/timeout|timed out/i);
  });
});

describe('startsServers', () => {
  it("is the checkout's one instance unless both servers are given", () => {
    // Prepare
    const kafka = { KAFKA_BROKERS: '127.0.0.1:9092' };
    const dynamodb = { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' };

    // Act and assess
    expect(startsServers({})).toBe(true);
    expect(startsServers(kafka)).toBe(true);
    expect(startsServers(dynamodb)).toBe(true);
    expect(startsServers({ ...kafka, DYNAMODB_ENDPOINT: ' ' })).toBe(true);
    expect(startsServers({ ...kafka, ...dynamodb })).toBe(false);
  });
});

describe('claimPort', () => {
  let holder: Server | undefined;
  afterEach(() => {
    holder?.close();
  });

  it('refuses a taken port, naming it and the setting to change', async () => {
    // Prepare
    const held = await holdPort();
    holder = held.server;
    const { port } = held;

    // Act
    const claim = claimPort(port, 'KAFKA_PORT');

    // Assess
    await expect(claim).rejects.toBeInstanceOf(PortInUseError);
    await expect(claim).rejects.toThrow(`port ${port} on 127.0.0.1`);
    const error = await claim.catch((e: unknown) => e);
    expect(describeError(error)).toMatch(/Fix: .*KAFKA_PORT/);
  });

  it('picks a free port when asked for 0', async () => {
    await expect(claimPort(0, 'KAFKA_PORT')).resolves.toBeGreaterThan(0);
  });
});

describe('acquireInstance', () => {
  let dir: string;
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets one instance run and tells a second one where the first is', () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'instance-test-'));
    const file = join(dir, 'platform.json');
    const first = acquireInstance(file, 'npm run dev');
    first.update({ kafkaBrokers: ['127.0.0.1:9092'] });

    // Act
    const second = () => acquireInstance(file, 'npm run dev');

    // Assess
    expect(second).toThrow(AlreadyRunningError);
    expect(second).toThrow(
      /npm run dev is already running .*127\.0\.0\.1:9092/,
    );
    first.release();
    expect(readInstance(file)).toBeUndefined();
  });

  it('takes over the record of an instance whose process is gone', () => {
    // Prepare: a record left by a process that no longer exists.
    dir = mkdtempSync(join(tmpdir(), 'instance-test-'));
    const file = join(dir, 'platform.json');
    acquireInstance(file, 'npm run dev');
    const record = JSON.parse(readFileSync(file, 'utf8'));
    const beyondPidMax = 2 ** 22 + 1;
    writeFileSync(file, JSON.stringify({ ...record, pid: beyondPidMax }));

    // Act
    const lock = acquireInstance(file, 'npm run dev');

    // Assess
    expect(readInstance(file)?.pid).toBe(process.pid);
    lock.release();
  });
});

describe('retryRetriable', () => {
  /** An error as kafkajs throws them: `retriable` says whether a retry may help. */
  const kafkaError = (type: string, retriable: boolean) =>
    Object.assign(new Error(type), { type, retriable });

  it('retries retriable errors until the call succeeds', async () => {
    // Prepare: NOT_COORDINATOR twice, then the answer.
    let calls = 0;
    const call = async () => {
      calls += 1;
      if (calls < 3) throw kafkaError('NOT_COORDINATOR', true);
      return 'offsets';
    };

    // Act
    const result = await retryRetriable(call, 5_000, 1);

    // Assess
    expect(result).toBe('offsets');
    expect(calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    // Prepare
    let calls = 0;
    const call = async () => {
      calls += 1;
      throw kafkaError('TOPIC_AUTHORIZATION_FAILED', false);
    };

    // Act + Assess
    await expect(retryRetriable(call, 5_000, 1)).rejects.toThrow(
      'TOPIC_AUTHORIZATION_FAILED',
    );
    expect(calls).toBe(1);
  });

  it('throws the retriable error itself once the deadline has passed', async () => {
    // Prepare
    const call = async () => {
      throw kafkaError('COORDINATOR_LOAD_IN_PROGRESS', true);
    };

    // Act + Assess
    await expect(retryRetriable(call, 0)).rejects.toThrow(
      'COORDINATOR_LOAD_IN_PROGRESS',
    );
  });
});
