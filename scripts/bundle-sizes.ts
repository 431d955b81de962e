/**
 * `npm run bundle-sizes`: synthesizes the CDK app (bundling every function with
 * esbuild, offline) into a temporary folder and prints each function's bundle: the code
 * Lambda loads (index.mjs), its gzip size (what counts for the download at cold start)
 * and the source map.
 */
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../infra/app.ts';

const outdir = mkdtempSync(join(tmpdir(), 'bundle-sizes-'));
const started = performance.now();
const { app } = buildApp(
  new App({
    outdir,
    context: { stage: 'dev', 'aws:cdk:enable-asset-metadata': true },
  }),
);
const assembly = app.synth();
const seconds = ((performance.now() - started) / 1000).toFixed(1);

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(`Synthesized with bundling in ${seconds} s\n`);
console.log(
  `${'function'.padEnd(44)}${'index.mjs'.padStart(12)}${'gzip'.padStart(12)}${'map'.padStart(12)}`,
);
for (const stack of assembly.stacks) {
  const resources = stack.template.Resources as Record<
    string,
    { Type: string; Metadata?: Record<string, string> }
  >;
  for (const [id, resource] of Object.entries(resources)) {
    const path = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || !path) continue;
    const dir = join(outdir, path);
    const files = readdirSync(dir);
    const code = files.find((f) => /^index\.m?js$/.test(f));
    if (!code) continue;
    const bytes = readFileSync(join(dir, code));
    const map = files.find((f) => f.endsWith('.map'));
    console.log(
      `${id.slice(0, 43).padEnd(44)}${kib(bytes.length).padStart(12)}${kib(gzipSync(bytes).length).padStart(12)}${(map ? kib(statSync(join(dir, map)).size) : '-').padStart(12)}`,
    );
  }
}
rmSync(outdir, { recursive: true, force: true });
