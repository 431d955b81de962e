/**
 * `npm run dev --env` and `--chaos` mistakes (docs/local-faults.md): refused with exit
 * code 2 before any JVM starts. The environment here cannot start one (no Java), so
 * a check that came later would fail with 'no Java runtime' instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '#platform/artifacts.ts';
import { type NodeScript, runNodeScript } from './processes.ts';

const devScript = join(REPO_ROOT, 'local', 'dev.ts');

describe('npm run dev --env / --chaos', () => {
  let scratch: string | undefined;
  const started: NodeScript[] = [];
  afterEach(() => {
    for (const script of started.splice(0)) script.child.kill('SIGKILL');
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  });

  function envThatCannotStartJvms(extra: NodeJS.ProcessEnv = {}) {
    scratch = mkdtempSync(join(tmpdir(), 'dev-overrides-test-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      JAVA_HOME: join(scratch, 'no-java'),
      LOCAL_PLATFORM_CACHE: join(scratch, 'cache'),
      LOCAL_PLATFORM_STATE: join(scratch, 'platform.json'),
      KAFKA_PORT: '0',
      DYNAMODB_PORT: '0',
      PORT: '0',
      ...extra,
    };
    delete env.KAFKA_BROKERS;
    delete env.DYNAMODB_ENDPOINT;
    return env;
  }

  async function dev(args: string[], extra?: NodeJS.ProcessEnv) {
    const script = runNodeScript(
      devScript,
      envThatCannotStartJvms(extra),
      args,
    );
    started.push(script);
    return { code: await script.exited, output: script.output() };
  }

  it.each([
    [
      ['--env', 'payment'],
      /^error: --env payment: expected <function>:<NAME>=<value>/,
    ],
    [
      ['--chaos', 'payment:fail=2'],
      /^error: --chaos payment:fail=2: fail=2 is not a share from 0 to 1/,
    ],
    [
      ['--env', 'payment:AWS_REGION=x'],
      /^error: --env payment:AWS_REGION=x: Lambda reserves AWS_REGION/,
    ],
  ])(
    'refuses %j with its reason and the usage, exit 2',
    async (args, message) => {
      // Act
      const { code, output } = await dev(args);

      // Assess
      expect(code).toBe(2);
      expect(output).toMatch(message);
      expect(output).toMatch(/\n\nusage: npm run dev/);
    },
  );

  it('reads LOCAL_CHAOS like --chaos', async () => {
    // Act
    const { code, output } = await dev([], {
      LOCAL_CHAOS: 'payment:fail=0.1 order-api:when=sometimes,fail=1',
    });

    // Assess
    expect(code).toBe(2);
    expect(output).toMatch(
      /^error: --chaos order-api:when=sometimes,fail=1: when is before or after\n/,
    );
  });

  it('refuses an unknown function in one line naming the functions, before any JVM', async () => {
    // Act
    const { code, output } = await dev([
      '--env',
      'paymnt:GATEWAY_FAIL_ALL=true',
    ]);

    // Assess: exit 2 and one line; not 'no Java runtime' (nothing was started).
    expect(code).toBe(2);
    expect(output.trim()).toMatch(
      /^error: --env: no function named paymnt; the functions are order-api, outbox-relay, order-events, payment, dlq-reprocessor, dlq-redrive, dlq-admin$/,
    );
  });
});
