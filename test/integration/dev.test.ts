import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '#platform/artifacts.ts';
import type { InstanceRecord } from '#platform/instance.ts';
import {
  allGone,
  isRunning,
  type NodeScript,
  runNodeScript,
} from './processes.ts';

describe('npm run dev', () => {
  let scratch: string;
  const started: NodeScript[] = [];
  afterEach(async () => {
    for (const script of started) script.child.kill('SIGKILL');
    started.length = 0;
    rmSync(scratch, { recursive: true, force: true });
  });

  it('prints its endpoints, refuses a second start, and leaves nothing behind on Ctrl-C', async () => {
    // Prepare: its own state file and free ports, so a developer's own dev is not disturbed.
    scratch = mkdtempSync(join(tmpdir(), 'dev-test-'));
    const state = join(scratch, 'platform.json');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_PORT: '0',
      DYNAMODB_PORT: '0',
      LOCAL_PLATFORM_STATE: state,
    };
    delete env.KAFKA_BROKERS;
    delete env.DYNAMODB_ENDPOINT;
    const devScript = join(REPO_ROOT, 'local', 'dev.ts');

    // Act 1: start.
    const dev = runNodeScript(devScript, env);
    started.push(dev);
    await dev.waitForLine(/Press Ctrl-C to stop/);
    const record = JSON.parse(readFileSync(state, 'utf8')) as InstanceRecord;

    // Assess 1: endpoints printed, JVMs running.
    expect(dev.output()).toMatch(/Kafka\s+127\.0\.0\.1:\d+/);
    expect(dev.output()).toMatch(/DynamoDB\s+http:\/\/127\.0\.0\.1:\d+/);
    const jvms = record.jvmPids ?? [];
    expect(jvms).toHaveLength(2);
    expect(jvms.every(isRunning)).toBe(true);

    // Act 2: a second start while the first runs.
    const second = runNodeScript(devScript, env);
    started.push(second);
    const secondCode = await second.exited;

    // Assess 2: one clear line, and the first one untouched.
    expect(secondCode).toBe(1);
    expect(second.output().trim()).toMatch(
      new RegExp(
        `^error: npm run dev is already running from this checkout \\(pid ${record.pid};.*Fix: `,
      ),
    );
    expect(jvms.every(isRunning)).toBe(true);

    // Act 3: Ctrl-C.
    dev.child.kill('SIGINT');
    const code = await dev.exited;

    // Assess 3
    expect(code).toBe(0);
    expect(dev.output()).toContain('Stopped. Nothing is left running.');
    expect(await allGone(jvms)).toBe(true);
    expect(() => readFileSync(state)).toThrow(/ENOENT/);
  });
});
