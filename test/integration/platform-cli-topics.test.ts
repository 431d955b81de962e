import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  inject,
  it,
} from 'vitest';
import { REPO_ROOT } from '#platform/artifacts.ts';
import { createTopics } from '#platform/platform.ts';
import { freePort } from '#platform/ports.ts';
import type { TailedRecord } from '#platform/topic-records.ts';
import { CONSUMED_MS, SETTLES_MS } from './deadlines.ts';
import { type NodeScript, runNodeScript } from './processes.ts';

const CLI = join(REPO_ROOT, 'local', 'platform', 'cli.ts');

/** What a finished command left. */
interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('npm run platform -- produce / tail against the real broker', () => {
  const brokers = inject('kafkaBrokers');
  // KAFKA_BROKERS names the test broker; the state file names no instance, so that a
  // developer's own platform is never the one used.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: brokers.join(','),
    LOCAL_PLATFORM_STATE: join(tmpdir(), `no-instance-${randomUUID()}.json`),
  };
  const admin = new Kafka({
    clientId: 'platform-cli-test',
    brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  const started: NodeScript[] = [];

  beforeAll(async () => {
    await admin.connect();
  });
  afterEach(() => {
    for (const script of started.splice(0)) script.child.kill('SIGKILL');
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  /** A topic of its own for each test: the CLI's records are the only ones in it. */
  async function newTopic(partitions = 1): Promise<string> {
    const topic = `cli.${randomUUID()}`;
    await createTopics(brokers, [{ name: topic, partitions }]);
    return topic;
  }

  /**
   * Runs `cli.ts ARGS` to its end with `input` on stdin (and `overrides` in its
   * environment); killed, and the test failed, if it has not ended within the deadline.
   */
  function cli(
    args: readonly string[],
    input = '',
    overrides: NodeJS.ProcessEnv = {},
  ): Promise<Finished> {
    const child = spawn(
      process.execPath,
      ['--disable-warning=TimeoutNegativeWarning', CLI, ...args],
      { env: { ...env, ...overrides }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdin.end(input);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(`cli ${args.join(' ')}: no end within ${CONSUMED_MS} ms`),
        );
      }, CONSUMED_MS);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** The records `tail --json` printed, one JSON object a line. */
  const tailed = (stdout: string): TailedRecord[] =>
    stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as TailedRecord);

  /** The consumer groups on the broker whose id names the topic (tail's do). */
  async function groupsOf(topic: string): Promise<string[]> {
    const { groups } = await admin.listGroups();
    return groups.map((g) => g.groupId).filter((id) => id.includes(topic));
  }

  it('produces a record with key, value, headers and partition; tail --json gives them back, and leaves no group', async () => {
    // Prepare
    const topic = await newTopic(3);

    // Act
    const produced = await cli([
      'produce',
      topic,
      '--key',
      'order-1',
      '--value',
      '{"orderId":"order-1","city":"Köln"}',
      '--header',
      'event-type=OrderPlaced',
      '--header',
      'correlation-id=corr=1',
      '--partition',
      '2',
    ]);
    const tail = await cli([
      'tail',
      topic,
      '--from-beginning',
      '--max',
      '1',
      '--json',
    ]);

    // Assess
    expect(produced).toMatchObject({ code: 0, stderr: '' });
    expect(produced.stdout).toBe(`${topic}  partition 2  offset 0\n`);
    expect(tail.code).toBe(0);
    const [record, ...more] = tailed(tail.stdout);
    expect(more).toEqual([]);
    expect(record).toMatchObject({
      topic,
      partition: 2,
      offset: 0,
      key: 'order-1',
      value: '{"orderId":"order-1","city":"Köln"}',
      headers: { 'event-type': 'OrderPlaced', 'correlation-id': 'corr=1' },
    });
    expect(Date.parse(record?.timestamp ?? '')).not.toBeNaN();
    expect(await groupsOf(topic)).toEqual([]);
  });

  it('produces one record a JSON line of stdin, in order, and they round-trip', async () => {
    // Prepare
    const topic = await newTopic();
    const lines = [
      { key: 'k-1', value: { n: 1 }, headers: { h: 'a' } },
      { key: 'k-2', value: 'plain text', headers: { h: ['b', 'c'] } },
      { key: null, value: null },
    ];

    // Act
    const produced = await cli(
      ['produce', topic, '--json-lines', '--header', 'source=test'],
      `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`,
    );
    const tail = await cli([
      'tail',
      topic,
      '--from-beginning',
      '--max',
      '3',
      '--json',
    ]);

    // Assess
    expect(produced.code).toBe(0);
    expect(produced.stdout).toBe(
      [0, 1, 2].map((o) => `${topic}  partition 0  offset ${o}\n`).join(''),
    );
    expect(tail.code).toBe(0);
    expect(
      tailed(tail.stdout).map(({ offset, key, value, headers }) => ({
        offset,
        key,
        value,
        headers,
      })),
    ).toEqual([
      {
        offset: 0,
        key: 'k-1',
        value: '{"n":1}',
        headers: { source: 'test', h: 'a' },
      },
      {
        offset: 1,
        key: 'k-2',
        value: 'plain text',
        headers: { source: 'test', h: ['b', 'c'] },
      },
      { offset: 2, key: null, value: null, headers: { source: 'test' } },
    ]);
  });

  it('produces each text line of stdin as a value, and tail prints them for a person', async () => {
    // Prepare
    const topic = await newTopic();

    // Act
    const produced = await cli(
      ['produce', topic, '--key', 'same'],
      'first\n\n{"second":2}\nthird\n',
    );
    const tail = await cli(['tail', topic, '--from-beginning', '--max', '3']);

    // Assess: the blank line is skipped; JSON is indented.
    expect(produced.code).toBe(0);
    expect(produced.stdout.trim().split('\n')).toHaveLength(3);
    expect(tail.code).toBe(0);
    expect(tail.stdout).toMatch(
      new RegExp(
        `^${topic}  partition 0  offset 0  \\d{4}-.*Z\n  key     same\n  value   first\n\n`,
      ),
    );
    expect(tail.stdout).toContain('  value   {\n            "second": 2\n');
    expect(tail.stdout).toContain('offset 2');
    expect(tail.stderr).toMatch(/^following .* from the beginning/);
  });

  it('follows from now on: prints a record produced after it started, not those before, and stops on Ctrl-C leaving no group', async () => {
    // Prepare: a record from before the tail.
    const topic = await newTopic(2);
    expect((await cli(['produce', topic, '--value', 'before'])).code).toBe(0);

    // Act
    const tail = runNodeScript(CLI, env, ['tail', topic, '--json']);
    started.push(tail);
    await expect
      .poll(() => tail.output(), { timeout: SETTLES_MS, interval: 50 })
      .toMatch(/following .* from now on/);
    expect(await groupsOf(topic)).toHaveLength(1);
    const produced = await cli(['produce', topic, '--value', 'after']);
    const line = await tail.waitForLine(/"value"/, CONSUMED_MS);
    tail.child.kill('SIGINT');
    const code = await tail.exited;

    // Assess
    expect(produced.code).toBe(0);
    expect(JSON.parse(line)).toMatchObject({ topic, value: 'after' });
    expect(tail.output()).not.toContain('"before"');
    expect(code).toBe(0);
    expect(tail.output()).toMatch(
      /stopping: leaving and deleting the consumer group/,
    );
    expect(await groupsOf(topic)).toEqual([]);
  });

  it.each([
    ['produce', ['--value', 'x']],
    ['tail', []],
  ])(
    '%s on a missing topic: one line naming the fix, and no topic made',
    async (command, args) => {
      // Prepare
      const topic = `cli.missing.${randomUUID()}`;

      // Act
      const result = await cli([command, topic, ...args]);

      // Assess
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `error: topic ${topic} does not exist (topic auto-creation is off, as on MSK). ` +
          `Fix: create it with 'npm run platform -- create-topic ${topic} [--partitions N]', ` +
          "or run 'npm run dev', which creates the stack's topics\n",
      );
      expect(await admin.listTopics()).not.toContain(topic);
      expect(await groupsOf(topic)).toEqual([]);
    },
  );

  it.each([
    ['produce', ['--value', 'x']],
    ['tail', []],
  ])(
    '%s with no broker at KAFKA_BROKERS: one line naming the broker and the fix',
    async (command, args) => {
      // Prepare: a port nothing listens on.
      const port = await freePort();

      // Act
      const result = await cli([command, 'any.topic', ...args], '', {
        KAFKA_BROKERS: `127.0.0.1:${port}`,
      });

      // Assess
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(
          `^error: Kafka at 127\\.0\\.0\\.1:${port} failed while connecting \\(.*ECONNREFUSED.*\\)\\. ` +
            "Fix: check the broker with 'npm run platform -- status'; .*KAFKA_BROKERS.*\\n$",
        ),
      );
    },
  );

  it('refuses a partition the topic does not have, before producing anything', async () => {
    // Prepare
    const topic = await newTopic(2);

    // Act
    const result = await cli([
      'produce',
      topic,
      '--partition',
      '2',
      '--value',
      'x',
    ]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^error: topic \S+ has no partition 2 \(it has 2: 0-1\)\. Fix: /,
    );
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.map((o) => o.high)).toEqual(['0', '0']);
  });

  it('stops at a bad JSON line: the lines before it are produced, and it says so', async () => {
    // Prepare
    const topic = await newTopic();

    // Act
    const result = await cli(
      ['produce', topic, '--json-lines'],
      '{"value":"one"}\n{"value":"two"}\n{"key":"k"}\n{"value":"four"}\n',
    );

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(
      /^error: stdin line 3: value: missing .*the records before it were produced, none from it on\. Fix: /,
    );
    const [offsets] = await admin.fetchTopicOffsets(topic);
    expect(offsets?.high).toBe('2');
  });
});
