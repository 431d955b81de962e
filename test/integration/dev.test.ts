import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '#platform/artifacts.ts';
import type { InstanceRecord } from '#platform/instance.ts';
import { holdPort } from '../hold-port.ts';
import {
  allGone,
  isRunning,
  type NodeScript,
  runNodeScript,
} from './processes.ts';

const devScript = join(REPO_ROOT, 'local', 'dev.ts');
const ADMIN_TOKEN = 'dev-test-admin-token-0123456789';

describe('npm run dev', () => {
  let scratch: string | undefined;
  const started: NodeScript[] = [];
  const held: Server[] = [];
  afterEach(async () => {
    for (const script of started) script.child.kill('SIGKILL');
    started.length = 0;
    for (const server of held.splice(0)) server.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  });

  /**
   * An environment in which dev can start nothing: no Java (JAVA_HOME names a folder
   * without one), an empty jar cache and free ports. A check that runs before the platform starts
   * answers first; anything later fails with 'no Java runtime' instead.
   */
  function envThatCannotStartJvms(): NodeJS.ProcessEnv {
    scratch = mkdtempSync(join(tmpdir(), 'dev-test-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      JAVA_HOME: join(scratch, 'no-java'),
      LOCAL_PLATFORM_CACHE: join(scratch, 'cache'),
      LOCAL_PLATFORM_STATE: join(scratch, 'platform.json'),
    };
    delete env.KAFKA_BROKERS;
    delete env.DYNAMODB_ENDPOINT;
    // Free ports unless a test takes one, so a developer's own dev disturbs nothing.
    return { ...env, KAFKA_PORT: '0', DYNAMODB_PORT: '0', PORT: '0' };
  }

  it('prints its usage on --help, and exits 0', async () => {
    // Act
    const dev = runNodeScript(devScript, envThatCannotStartJvms(), ['--help']);
    started.push(dev);
    const code = await dev.exited;

    // Assess
    expect(code).toBe(0);
    expect(dev.output()).toMatch(/^usage: npm run dev \[-- OPTIONS\]\n/);
    expect(dev.output()).toMatch(/--port N .*\n.*--stage NAME/);
    expect(dev.output()).toMatch(/KAFKA_PORT, DYNAMODB_PORT/);
  });

  it('names an unknown option in one line, then the usage, and exits 2', async () => {
    // Act
    const dev = runNodeScript(devScript, envThatCannotStartJvms(), [
      '--prot=3000',
    ]);
    started.push(dev);
    const code = await dev.exited;

    // Assess
    expect(code).toBe(2);
    expect(dev.output()).toMatch(
      /^error: Unknown option '--prot'.*\n\nusage: npm run dev/,
    );
    expect(dev.output()).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['the Kafka port', 'KAFKA_PORT', 'KAFKA_PORT'],
    ['the DynamoDB port', 'DYNAMODB_PORT', 'DYNAMODB_PORT'],
    ['the HTTP port', 'PORT', 'PORT \\(or --port\\)'],
  ])(
    'refuses a taken port (%s) in one line before it starts any JVM',
    async (_what, variable, setting) => {
      // Prepare
      const { server, port } = await holdPort();
      held.push(server);
      const env = { ...envThatCannotStartJvms(), [variable]: String(port) };

      // Act
      const dev = runNodeScript(devScript, env);
      started.push(dev);
      const code = await dev.exited;

      // Assess: the port's error, not 'no Java runtime': nothing was started.
      expect(code).toBe(1);
      expect(dev.output()).toMatch(
        new RegExp(
          `^error: port ${port} on 127\\.0\\.0\\.1 is already in use\\. Fix: .*set ${setting} to another port`,
        ),
      );
      expect(dev.output().trim().split('\n')).toHaveLength(1);
    },
  );

  it.each([
    [
      'LOCAL_ADMIN_TOKEN',
      'short',
      [],
      'LOCAL_ADMIN_TOKEN is 5 characters long',
    ],
    [
      '--admin-token',
      'x'.repeat(32),
      ['--admin-token', 'has spaces in it, sixteen+'],
      '--admin-token holds a space',
    ],
  ])(
    'refuses a bad admin token (%s) in one line before it starts any JVM',
    async (_setting, fromEnv, args, message) => {
      // Prepare: with both, the command line's is the one checked.
      const env = { ...envThatCannotStartJvms(), LOCAL_ADMIN_TOKEN: fromEnv };

      // Act
      const dev = runNodeScript(devScript, env, args);
      started.push(dev);
      const code = await dev.exited;

      // Assess: the token's error, not 'no Java runtime': nothing was started.
      expect(code).toBe(1);
      expect(dev.output()).toMatch(
        new RegExp(`^error: ${message}.*\\. Fix: set `),
      );
      expect(dev.output().trim().split('\n')).toHaveLength(1);
    },
  );

  it('prints its endpoints and the fixed admin token, refuses a second start, and leaves nothing behind on Ctrl-C', async () => {
    // Prepare: its own state file and free ports, so a developer's own dev is not disturbed.
    scratch = mkdtempSync(join(tmpdir(), 'dev-test-'));
    const state = join(scratch, 'platform.json');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_PORT: '0',
      DYNAMODB_PORT: '0',
      PORT: '0',
      LOCAL_PLATFORM_STATE: state,
      LOCAL_ADMIN_TOKEN: ADMIN_TOKEN,
    };
    delete env.KAFKA_BROKERS;
    delete env.DYNAMODB_ENDPOINT;

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
    // The fixed admin token, printed and demanded; a 403 says how to send it.
    expect(dev.output()).toContain(
      `Authorization: Bearer ${ADMIN_TOKEN}\n  (from LOCAL_ADMIN_TOKEN)`,
    );
    const api = /HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(
      dev.output(),
    )?.[1];
    const refused = await fetch(`${api}/dead-letters`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      message: 'Forbidden',
      local: expect.stringContaining('LOCAL_ADMIN_TOKEN'),
    });
    const served = await fetch(`${api}/dead-letters`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(served.status).toBe(200);
    // Mapping lines name topic and function; no SDK warning on the way up.
    expect(dev.output()).toMatch(
      /^\[order\.placed\.v1 -> payment\] polling as group /m,
    );
    expect(dev.output()).not.toMatch(/\[esm |requestTimeout|\[WARN\]/);

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
