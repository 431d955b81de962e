/**
 * Synthesizing the real CDK app in-process into the stack's CloudFormation
 * template, the one source of truth the local runtime reads.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { isRecord, messageOf } from '#commons/guards.ts';
import { buildApp } from '#infra/app.ts';
import { InvalidTemplateError, TemplateSynthesisError } from './errors.ts';
import type { CfnTemplate } from './model.ts';

/** The repository root: `cdk.json` and the `functions/` entries are under it. */
const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

/**
 * Synthesizes the real CDK app in this process and returns the stack's template.
 *
 * In-process rather than reading `cdk.out`: the template is always the one the
 * current code makes (a stale `cdk.out` would run yesterday's routes), no CDK CLI
 * is needed, and it takes about 1-2 s because asset bundling is skipped
 * (`aws:cdk:bundling-stacks: []`; the local runtime runs the TypeScript, not the
 * bundles). The context is `cdk.json`'s, as `cdk synth` would use, with `stage`
 * set. The cloud assembly goes to a temporary folder that is removed afterwards.
 *
 * @example
 * ```ts
 * const template = synthesizeTemplate('dev');
 * const system = readSystem(template, { brokers, dynamodbEndpoint });
 * ```
 */
export function synthesizeTemplate(stage = 'dev'): CfnTemplate {
  const outdir = mkdtempSync(path.join(tmpdir(), 'local-synth-'));
  try {
    const app = new App({
      outdir,
      context: {
        ...cdkJsonContext(),
        stage,
        'aws:cdk:bundling-stacks': [],
      },
    });
    const { stack } = buildApp(app);
    const template: unknown = app
      .synth()
      .getStackByName(stack.stackName).template;
    if (!isRecord(template) || !isRecord(template.Resources)) {
      throw new InvalidTemplateError(`${stack.stackName} has no Resources`);
    }
    return template as unknown as CfnTemplate;
  } catch (error) {
    if (error instanceof InvalidTemplateError) throw error;
    throw new TemplateSynthesisError(
      `synthesizing the CDK app (stage ${stage}) failed: ${messageOf(error)}`,
      { cause: error },
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function cdkJsonContext(): Record<string, unknown> {
  const cdkJson: unknown = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'),
  );
  return isRecord(cdkJson) && isRecord(cdkJson.context) ? cdkJson.context : {};
}
