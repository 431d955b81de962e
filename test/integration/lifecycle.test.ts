import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ensureArtifacts, KAFKA } from '#platform/artifacts.ts';
import {
  ArtifactFetchError,
  PortInUseError,
  ServerNotReadyError,
} from '#platform/errors.ts';
import { findJava } from '#platform/java.ts';
import { startKafkaBroker } from '#platform/kafka.ts';
import { startPlatform } from '#platform/platform.ts';
import { pollUntil } from '#platform/wait.ts';
import { holdPort } from '../hold-port.ts';
import { allGone, isRunning, javaProcessesMentioning } from './processes.ts';

function envWithoutExternals(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  delete env.DYNAMODB_ENDPOINT;
  return env;
}

describe('platform lifecycle', () => {
  let holder: Server | undefined;
  let scratch: string | undefined;
  afterEach(() => {
    holder?.close();
    holder = undefined;
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  });

  it('leaves no JVM behind when the process that started them is killed', async () => {
    // Prepare
    const owner = spawn(
      process.execPath,
      [
        '--disable-warning=TimeoutNegativeWarning',
        join(import.meta.dirname, 'fixtures', 'platform-owner.ts'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    owner.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lines = createInterface({ input: owner.stdout });
    const first: string = await new Promise((resolve, reject) => {
      lines.once('line', resolve);
      owner.once('exit', (code) =>
        reject(new Error(`the platform owner exited with ${code}: ${stderr}`)),
      );
    });
    const pids = JSON.parse(first) as { kafka: number; dynamodb: number };
    expect(isRunning(pids.kafka)).toBe(true);
    expect(isRunning(pids.dynamodb)).toBe(true);

    // Act: no chance to clean up.
    owner.kill('SIGKILL');

    // Assess
    expect(await allGone([pids.kafka, pids.dynamodb])).toBe(true);
  });

  it('stops the broker it started when it does not become ready in time', async () => {
    // Prepare
    const java = findJava();
    const libDir = await ensureArtifacts(KAFKA, { java });

    // Act
    const error = await startKafkaBroker({
      java,
      libDir,
      readyTimeoutMs: 1,
    }).catch((e: unknown) => e);

    // Assess: one clear error naming the deadline and the log; no JVM left.
    expect(error).toBeInstanceOf(ServerNotReadyError);
    expect((error as Error).message).toBe(
      'the Kafka broker did not become ready within 0.001 s',
    );
    const dir = /read (\S+)\/kafka\.log/.exec(
      (error as ServerNotReadyError).fix,
    )?.[1];
    expect(dir).toMatch(/local-kafka-/);
    scratch = dir;
    const stopped = await pollUntil(
      () =>
        javaProcessesMentioning(dir ?? '').length === 0 ? true : undefined,
      15_000,
    );
    expect(stopped).toBe(true);
  });

  it('refuses a taken Kafka port before it fetches or starts anything', async () => {
    // Prepare
    const held = await holdPort();
    holder = held.server;
    const { port } = held;
    // No Java and an empty jar cache: anything past the port check would fail with
    // JavaNotFoundError or ArtifactFetchError instead.
    scratch = mkdtempSync(join(tmpdir(), 'port-test-'));
    const env = {
      ...envWithoutExternals(),
      JAVA_HOME: join(scratch, 'no-java'),
      LOCAL_PLATFORM_CACHE: join(scratch, 'cache'),
    };

    // Act
    const start = startPlatform({ env, kafkaPort: port, dynamodbPort: 0 });

    // Assess
    await expect(start).rejects.toBeInstanceOf(PortInUseError);
    await expect(start).rejects.toThrow(`port ${port} on 127.0.0.1`);
    expect(existsSync(join(scratch, 'cache'))).toBe(false);
  });

  it('reports a failed Maven fetch with its cause and keeps no half-fetched jars', async () => {
    // Prepare: Maven offline with an empty local repository cannot resolve anything.
    scratch = mkdtempSync(join(tmpdir(), 'fetch-test-'));
    const env = {
      ...process.env,
      LOCAL_PLATFORM_CACHE: join(scratch, 'cache'),
    };

    // Act
    const error = await ensureArtifacts(KAFKA, {
      java: findJava(),
      env,
      mavenArgs: ['-o', `-Dmaven.repo.local=${join(scratch, 'm2')}`],
    }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ArtifactFetchError);
    expect((error as Error).message).toMatch(
      /^fetching Apache Kafka 3\.9\.2 with Maven failed: (?!exit code)\S/,
    );
    expect((error as ArtifactFetchError).fix).toMatch(/fetch-kafka\.log/);
    expect(existsSync(join(scratch, 'cache', 'jvm', 'kafka'))).toBe(false);
  });

  it('listens on 127.0.0.1 only', async () => {
    // Prepare: the ports of the shared broker and DynamoDB Local.
    const ports = [
      ...inject('kafkaBrokers').map((b) => Number(b.split(':')[1])),
      Number(new URL(inject('dynamodbEndpoint')).port),
    ];
    const addresses = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a?.address as string);

    // Act: connect through every other interface of this machine.
    const outcomes = await Promise.all(
      addresses.flatMap((host) =>
        ports.map(
          (port) =>
            new Promise<string>((resolve) => {
              const socket = connect({ host, port, timeout: 2_000 });
              socket.once('connect', () => {
                socket.destroy();
                resolve(`${host}:${port} open`);
              });
              socket.once('error', () => resolve('refused'));
              socket.once('timeout', () => {
                socket.destroy();
                resolve('refused');
              });
            }),
        ),
      ),
    );

    // Assess
    expect(outcomes.filter((o) => o !== 'refused')).toEqual([]);
  });
});
