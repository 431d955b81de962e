/**
 * What the deployed bundles are built from: every function entry under functions/,
 * bundled by esbuild as infra/bundling.ts does (our files only; packages left
 * external), must take nothing from local/ (the local runtime, the platform and the
 * console, which serves pages and reads the broker for people, never for Lambda),
 * from infra/ (the CDK app) nor from the tests' and scripts' folders
 * (docs/architecture.md). esbuild's metafile lists the files that went
 * in, so this holds for `#` subpath imports and re-exports alike.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** The repository's own files an entry's bundle is built from (relative paths). */
async function bundleInputs(entry: string): Promise<string[]> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    mainFields: ['module', 'main'],
    // Only our files matter here: every package stays out of the build.
    packages: 'external',
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).sort();
}

describe('the function bundles are built from', () => {
  // Every handler file at the top of functions/: each is a bundle entry.
  const entries = readdirSync(join(ROOT, 'functions'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `functions/${name}`);
  const inputs = new Map<string, string[]>();

  beforeAll(async () => {
    for (const entry of entries) inputs.set(entry, await bundleInputs(entry));
  });

  it('their own folder, through # imports too', () => {
    // Assess: the walk follows subpath imports (#commons/table-specs.ts),
    // so a miss below is a miss, not a blind spot.
    expect(entries).toContain('functions/payment.ts');
    expect(inputs.get('functions/payment.ts')).toEqual(
      expect.arrayContaining([
        'functions/payment.ts',
        'functions/domain/events.ts',
        'functions/commons/table-specs.ts',
      ]),
    );
  });

  it('nothing under local/ (runtime, platform, console), infra/, test/, scripts/ or bench/', () => {
    for (const [entry, files] of inputs) {
      const foreign = files.filter((file) =>
        /^(local|infra|test|scripts|bench)\//.test(file),
      );
      expect(foreign, `${entry} takes files that are not for Lambda`).toEqual(
        [],
      );
    }
  });

  it('a file that imports local/ would be seen (the check can fail)', async () => {
    // Act: the same walk from npm run dev's entry, which is all local/.
    const files = await bundleInputs('local/dev.ts');

    // Assess
    expect(files.some((file) => file.startsWith('local/runtime/'))).toBe(true);
  });
});
