import { App } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';

/**
 * A CDK app for tests that read templates: asset bundling is off (no stack is named
 * in `aws:cdk:bundling-stacks`), so a function's code is a placeholder asset and
 * esbuild never runs. The templates are otherwise the same. Bundling one function
 * takes seconds on a busy machine; only `topics.test.ts`, which examines a bundle,
 * bundles.
 *
 * @example
 * ```ts
 * const { stack } = buildApp(testApp({ stage: 'prod' }));
 * ```
 */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...context, [BUNDLING_STACKS]: [] } });
}
