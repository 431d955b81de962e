/**
 * The CDK app (`cdk.json` runs it with Node's TypeScript support: `node infra/app.ts`).
 * `-c stage=prod` selects the stage; `dev` is the default.
 */
import { App, type StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type StageConfig, stageConfig } from './config.ts';
import { OrdersStack } from './orders-stack.ts';

/**
 * Builds the app for a stage, with cdk-nag's AWS Solutions checks in the synth path:
 * an unacknowledged finding fails the synth. The infra tests call this too.
 */
export function buildApp(app = new App()): { app: App; stack: OrdersStack } {
  const config = stageConfig((key) => app.node.tryGetContext(key));
  const stack = new OrdersStack(app, `KafkaOrders-${config.stage}`, {
    config,
    ...environment(config),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

/**
 * The stage's account and region, else the CLI's when it found credentials (it sets
 * `CDK_DEFAULT_ACCOUNT` then; without them it still sets a default region, which
 * alone would bind ARNs to a region nobody chose). With neither the stack is
 * environment-agnostic (infra/config.ts, env).
 */
function environment(config: StageConfig): Pick<StackProps, 'env'> {
  if (config.env) return { env: config.env };
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  return account && region ? { env: { account, region } } : {};
}

if (import.meta.main) {
  buildApp().app.synth();
}
