/** The dev stage's template for a benchmark, its order path's window set or not. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '#infra/app.ts';
import {
  type CfnTemplate,
  synthesizeTemplate,
} from '../local/runtime/template.ts';

/**
 * The dev template, as `npm run dev` synthesizes it; with `windowSeconds`, the
 * order path's window set through CDK context as `cdk.json` would set it.
 *
 * @example
 * ```ts
 * const template = devTemplate(process.env.BENCH_LATENCY_WINDOW_SECONDS);
 * ```
 */
export function devTemplate(windowSeconds: string | undefined): CfnTemplate {
  if (windowSeconds === undefined) return synthesizeTemplate('dev');
  const app = new App({
    outdir: mkdtempSync(path.join(tmpdir(), 'bench-latency-synth-')),
    context: {
      stage: 'dev',
      stages: {
        dev: {
          esm: { orderPathBatchingWindowSeconds: Number(windowSeconds) },
        },
      },
      'aws:cdk:bundling-stacks': [],
    },
  });
  const { stack } = buildApp(app);
  const template = app.synth().getStackByName(stack.stackName).template;
  rmSync(app.outdir, { recursive: true, force: true });
  return template as CfnTemplate;
}
