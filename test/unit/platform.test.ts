import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AlreadyRunningError,
  describeError,
  JavaNotFoundError,
  PortInUseError,
} from '#platform/errors.ts';
import { acquireInstance, readInstance } from '#platform/instance.ts';
import { findJava, parseJavaMajor } from '#platform/java.ts';
import { brokerProperties, newClusterId } from '#platform/kafka.ts';
import { claimPort, LOOPBACK } from '#platform/ports.ts';

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

describe('claimPort', () => {
  let holder: Server | undefined;
  afterEach(() => {
    holder?.close();
  });

  it('refuses a taken port, naming it and the setting to change', async () => {
    // Prepare
    holder = createServer();
    const port = await new Promise<number>((resolve) =>
      holder?.listen(0, LOOPBACK, () => {
        const address = holder?.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      }),
    );

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
