/**
 * Configuration by stage, from `cdk.json` context (`-c stage=prod` picks one). Every
 * setting has a documented default (infra/config/defaults.ts, the settings in
 * infra/config/schema.ts); `cdk.json` and `-c` override them. Validated with zod
 * (infra/config/checks.ts) so a typo fails `cdk synth` with a message, not a broken
 * deployment. This module reads the context.
 */
import type * as z from 'zod';
import { CheckedStageConfig } from './config/checks.ts';
import { STAGE_DEFAULTS } from './config/defaults.ts';
import type { StageConfig } from './config/schema.ts';

export { STAGE_DEFAULTS } from './config/defaults.ts';
export { StageConfig } from './config/schema.ts';

/**
 * The configuration of a stage: defaults, then `stages.<stage>` from context, then
 * `mskClusterArn` from context.
 *
 * @example
 * ```ts
 * const config = stageConfig((key) => app.node.tryGetContext(key));
 * ```
 */
export function stageConfig(context: (key: string) => unknown): StageConfig {
  const stage = String(context('stage') ?? 'dev');
  const defaults = STAGE_DEFAULTS[stage] ?? STAGE_DEFAULTS.dev;
  const overrides = (
    context('stages') as Record<string, unknown> | undefined
  )?.[stage] as Partial<StageConfig> | undefined;
  const merged = {
    ...defaults,
    ...overrides,
    stage,
    kafka: {
      ...defaults?.kafka,
      ...overrides?.kafka,
      ...existingClusterContext(context),
    },
    esm: { ...defaults?.esm, ...overrides?.esm },
    functions: { ...defaults?.functions, ...overrides?.functions },
    api: { ...defaults?.api, ...overrides?.api },
  };
  const result = CheckedStageConfig.safeParse(merged);
  if (!result.success) {
    throw new Error(
      `invalid configuration for stage ${stage}: ${oneLine(result.error)}`,
    );
  }
  return result.data;
}

/**
 * The existing cluster and its network from `-c` context: `mskClusterArn`,
 * `mskVpcId`, `mskSubnetIds` (comma-separated, or a list in cdk.json) and
 * `mskSecurityGroupId`.
 */
function existingClusterContext(
  context: (key: string) => unknown,
): Partial<StageConfig['kafka']> {
  const text = (key: string) => {
    const value = context(key);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const subnets = context('mskSubnetIds');
  const subnetIds =
    typeof subnets === 'string'
      ? subnets
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id !== '')
      : subnets;
  const given = {
    clusterArn: text('mskClusterArn'),
    vpcId: text('mskVpcId'),
    subnetIds,
    securityGroupId: text('mskSecurityGroupId'),
  };
  return Object.fromEntries(
    Object.entries(given).filter(([, value]) => value !== undefined),
  );
}

/**
 * Every issue on one line, `<message> (at <path>)`, joined by `; `: what `cdk synth`
 * prints is the one line that names the setting to fix.
 */
function oneLine(error: z.ZodError): string {
  return error.issues
    .map(({ message, path }) =>
      path.length > 0
        ? `${message} (at ${path.map(String).join('.')})`
        : message,
    )
    .join('; ');
}
