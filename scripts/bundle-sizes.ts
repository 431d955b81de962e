/**
 * `npm run bundle-sizes`: what each function deploys and what it costs to load.
 *
 * 1. Synthesizes the CDK app with bundling (esbuild, offline) and reads each of our
 *    function assets: the code Lambda loads (`index.js`), its gzip size (what counts
 *    for the download at cold start), and whether a source map is in the zip.
 * 2. Bundles each function entry once more with esbuild and the same options
 *    (`FUNCTION_BUNDLING`), with a metafile and a source map, into `.bundles/`
 *    (gitignored: the maps decode a production stack trace), and prints each
 *    bundle's top contributors per package. The rebuilt code must be byte for byte
 *    the deployed one, else the script fails: the list describes what deploys.
 * 3. Times `await import(bundle)` in fresh Node.js processes, each with the
 *    function's environment as the local runtime gives it (importing a handler
 *    wires its clients from the environment), against a bare
 *    `await import('@aws-sdk/client-dynamodb')`, in interleaved rounds; prints the
 *    medians and their ratio (goal: <= 1.5x; docs/performance.md "Cold start").
 *
 * `BUNDLE_ROUNDS` sets the rounds (default 7). Timings on a busy machine are
 * indicative only; the ratio is measured within one run, so it travels better.
 */
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { App, type CfnElement } from 'aws-cdk-lib';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build, type Metafile } from 'esbuild';
import { median } from '../bench/stats.ts';
import { buildApp } from '../infra/app.ts';
import { FUNCTION_BUNDLING } from '../infra/bundling.ts';
import { OrdersFunction } from '../infra/orders-function.ts';
import { type CfnTemplate, readSystem } from '../local/runtime/template.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const OUT_DIR = join(REPO_ROOT, '.bundles');
/** Ours but not an `OrdersFunction`: the custom resource handler of the topics. */
const PROVISIONER_ENTRY = 'infra/topic-provisioner/handler.ts';
const ROUNDS = Number(process.env.BUNDLE_ROUNDS ?? 7);

/** A bundle's name in the tables: its entry's file name, the provisioner's own. */
function bundleName(entry: string): string {
  return entry === PROVISIONER_ENTRY
    ? 'topic-provisioner'
    : basename(entry, '.ts');
}
const BASELINE = '@aws-sdk/client-dynamodb';

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/** One deployed bundle: a CDK asset and the entry it was built from. */
interface Bundle {
  readonly entry: string;
  /** Logical ids of the functions that run it (the DLQ handlers share one). */
  readonly functions: string[];
  readonly code: Buffer;
  readonly files: string[];
  readonly environment: Record<string, string>;
}

// 1. The deployed assets.
const cdkOut = mkdtempSync(join(tmpdir(), 'bundle-sizes-'));
const started = performance.now();
const { app, stack } = buildApp(
  new App({
    outdir: cdkOut,
    context: { stage: 'dev', 'aws:cdk:enable-asset-metadata': true },
  }),
);
const assembly = app.synth();
const template = assembly.getStackByName(stack.stackName)
  .template as CfnTemplate;
console.log(
  `Synthesized with bundling in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

// Each function's environment as the local runtime gives it: local table names,
// a broker and DynamoDB endpoint that nothing connects to at import, dummy
// credentials. KAFKA_AUTH stays as deployed ('iam'): the signer loads lazily.
const system = readSystem(template, {
  brokers: ['127.0.0.1:9092'],
  dynamodbEndpoint: 'http://127.0.0.1:8000',
});
const lambdaEnv = {
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
};

// Ours are the NodejsFunctions; CDK's own helpers (the custom resource framework)
// are not.
const bundles = new Map<string, Bundle>();
for (const construct of stack.node.findAll()) {
  if (!(construct instanceof NodejsFunction)) continue;
  const id = stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const resource = template.Resources[id];
  const assetPath = resource?.Metadata?.['aws:asset:path'];
  if (typeof assetPath !== 'string') throw new Error(`${id} has no asset`);
  const dir = join(cdkOut, assetPath);
  const files = readdirSync(dir).sort();
  const entry =
    construct instanceof OrdersFunction
      ? construct.sourceEntry
      : PROVISIONER_ENTRY;
  const fn = system.functions.find((f) => f.logicalId === id);
  const variables = (
    resource?.Properties?.Environment as { Variables?: Record<string, unknown> }
  )?.Variables;
  const environment: Record<string, string> = {
    ...lambdaEnv,
    ...(fn?.environment ?? {
      KAFKA_BROKERS: '127.0.0.1:9092',
      AWS_LAMBDA_FUNCTION_NAME: 'topic-provisioner',
    }),
    ...(typeof variables?.KAFKA_AUTH === 'string'
      ? { KAFKA_AUTH: variables.KAFKA_AUTH }
      : {}),
  };
  const known = bundles.get(entry);
  if (known) {
    known.functions.push(id);
    continue;
  }
  const code = readFileSync(
    join(dir, files.includes('index.js') ? 'index.js' : 'index.mjs'),
  );
  bundles.set(entry, { entry, functions: [id], code, files, environment });
}
rmSync(cdkOut, { recursive: true, force: true });

console.log(
  `\n${'bundle'.padEnd(32)}${'code'.padStart(12)}${'gzip'.padStart(12)}  files in the zip`,
);
for (const bundle of bundles.values()) {
  console.log(
    `${bundleName(bundle.entry).padEnd(32)}${kib(bundle.code.length).padStart(12)}${kib(gzipSync(bundle.code).length).padStart(12)}  ${bundle.files.join(', ')}${bundle.files.some((f) => f.endsWith('.map')) ? '  <- SOURCE MAP IN THE ZIP' : ''}`,
  );
}

// 2. The same bundles again, with a metafile and a map, into .bundles/.
rmSync(OUT_DIR, { recursive: true, force: true });
mkdirSync(OUT_DIR);
// Lambda's /var/task has no package.json, so index.js is CommonJS there; here the
// repository's "type": "module" would apply without this one.
writeFileSync(join(OUT_DIR, 'package.json'), '{ "type": "commonjs" }\n');
const builtFiles = new Map<string, string>();
for (const bundle of bundles.values()) {
  const dir = join(OUT_DIR, bundleName(bundle.entry));
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index.js');
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [bundle.entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: FUNCTION_BUNDLING.format,
    target: FUNCTION_BUNDLING.target,
    mainFields: FUNCTION_BUNDLING.mainFields,
    minify: FUNCTION_BUNDLING.minify,
    external: FUNCTION_BUNDLING.externalModules,
    // 'external': the map without the comment that points at it, so that the
    // code is byte for byte what deploys.
    sourcemap: 'external',
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(result.metafile));
  if (!readFileSync(outfile).equals(bundle.code)) {
    throw new Error(
      `${bundle.entry}: the rebuilt bundle differs from the deployed one; are the esbuild options here those of infra/bundling.ts?`,
    );
  }
  builtFiles.set(bundle.entry, outfile);
  console.log(
    `\n${bundle.entry} (${bundle.functions.length} function(s)): top contributors`,
  );
  for (const [name, bytes] of contributors(result.metafile).slice(0, 10)) {
    console.log(`  ${name.padEnd(46)}${kib(bytes).padStart(12)}`);
  }
}
console.log(`\nBundles, maps and metafiles: ${OUT_DIR}`);

// 3. Import times in fresh processes, interleaved: the wall time, and the CPU time
// (user + system) the import took, which a busy machine inflates less.
interface ImportTime {
  readonly wallMs: number;
  readonly cpuMs: number;
}
const importTime = (
  specifier: string,
  env: Record<string, string>,
): ImportTime => {
  const script = `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(specifier)}); const wall = performance.now() - t; const cpu = process.cpuUsage(c); console.log(wall, (cpu.user + cpu.system) / 1000); process.exit(0);`;
  let out: string;
  try {
    out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', script],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? error);
    throw new Error(
      `importing ${specifier} failed: ${stderr.split('\n').slice(-6).join('\n').slice(0, 2000)}`,
    );
  }
  const [wallMs, cpuMs] = (out.trim().split('\n').at(-1) ?? '')
    .split(' ')
    .map(Number);
  return { wallMs: wallMs ?? Number.NaN, cpuMs: cpuMs ?? Number.NaN };
};
const targets = [
  { name: `bare ${BASELINE}`, specifier: BASELINE, env: lambdaEnv },
  ...[...bundles.values()].map((bundle) => ({
    name: bundleName(bundle.entry),
    specifier: pathToFileURL(builtFiles.get(bundle.entry) as string).href,
    env: bundle.environment,
  })),
];
const times = new Map(
  targets.map((target) => [target.name, [] as ImportTime[]]),
);
for (let round = 0; round < ROUNDS; round++) {
  for (const target of targets) {
    times.get(target.name)?.push(importTime(target.specifier, target.env));
  }
}
const medians = (name: string) => {
  const samples = times.get(name) ?? [];
  return {
    wall: median(samples.map((s) => s.wallMs)),
    cpu: median(samples.map((s) => s.cpuMs)),
  };
};
const baseline = medians(targets[0]?.name as string);
console.log(
  `\nimport() in a fresh process, medians of ${ROUNDS} interleaved rounds (goal: <= 1.5x the bare import)`,
);
console.log(
  `  ${''.padEnd(40)}${'wall'.padStart(12)}${'ratio'.padStart(8)}${'cpu'.padStart(12)}${'ratio'.padStart(8)}`,
);
for (const target of targets) {
  const { wall, cpu } = medians(target.name);
  console.log(
    `  ${target.name.padEnd(40)}${`${wall.toFixed(1)} ms`.padStart(12)}${`${(wall / baseline.wall).toFixed(2)}x`.padStart(8)}${`${cpu.toFixed(1)} ms`.padStart(12)}${`${(cpu / baseline.cpu).toFixed(2)}x`.padStart(8)}`,
  );
}

/** Bytes in the output per package (`node_modules/<name>`) or folder of ours. */
function contributors(metafile: Metafile): [string, number][] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name =
        /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ??
        path.split('/').slice(0, 2).join('/');
      totals.set(name, (totals.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}
