/**
 * `npm run lint:templates`: synthesizes every deploy variant (infra/variants.ts:
 * each stage with a new serverless, a new provisioned and an existing cluster) and
 * runs cfn-lint on their templates, against the CloudFormation resource schemas it
 * ships. Any error fails the run; warnings are printed.
 *
 * Synthesized without bundling (the functions' code is a placeholder asset): cfn-lint
 * reads templates, not code. cdk-nag runs in the synth as always.
 *
 * cfn-lint comes from PyPI: `CFN_LINT` names the program, else `.cache/cfn-lint`
 * (the venv `.ci/run` installs from scripts/cfn-lint-requirements.txt), else
 * `cfn-lint` on the PATH.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { buildApp } from '../infra/app.ts';
import { VARIANTS } from '../infra/variants.ts';

const ROOT = resolve(import.meta.dirname, '..');

function cfnLint(): string {
  if (process.env.CFN_LINT) return process.env.CFN_LINT;
  const cached = join(ROOT, '.cache', 'cfn-lint', 'bin', 'cfn-lint');
  return existsSync(cached) ? cached : 'cfn-lint';
}

const out = mkdtempSync(join(tmpdir(), 'lint-templates-'));
try {
  const templates = VARIANTS.map(({ name, context }) => {
    const app = new App({
      outdir: join(out, name),
      context: { ...context, [BUNDLING_STACKS]: [] },
    });
    const { stack } = buildApp(app);
    app.synth();
    return { name, path: join(out, name, stack.templateFile) };
  });
  const program = cfnLint();
  const run = spawnSync(
    program,
    [
      '--non-zero-exit-code',
      'error',
      // W3005 (a DependsOn that a GetAtt already implies): CDK adds it on purpose
      // between every function and its role; 60 lines of noise.
      '--ignore-checks',
      'W3005',
      '--',
      ...templates.map(({ path }) => path),
    ],
    { stdio: 'inherit' },
  );
  if (run.error) {
    console.error(
      `cannot run ${program} (${run.error.message}): install it with python3 -m venv .cache/cfn-lint && .cache/cfn-lint/bin/pip install -r scripts/cfn-lint-requirements.txt, or set CFN_LINT`,
    );
    process.exitCode = 1;
  } else if (run.status !== 0) {
    console.error(`cfn-lint found errors (exit ${run.status})`);
    process.exitCode = 1;
  } else {
    console.log(
      `cfn-lint: no errors in ${templates.length} templates (${templates.map(({ name }) => name).join(', ')})`,
    );
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
