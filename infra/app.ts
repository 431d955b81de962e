/**
 * The CDK app (`cdk.json` runs it with Node's TypeScript support: `node infra/app.ts`).
 * `-c stage=prod` selects the stage; `dev` is the default.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stageConfig } from './config.ts';
import { OrdersStack } from './orders-stack.ts';

/**
 * Builds the app for a stage, with cdk-nag's AWS Solutions checks in the synth path:
 * an unacknowledged finding fails the synth. The infra tests call this too.
 */
export function buildApp(app = new App()): { app: App; stack: OrdersStack } {
  const config = stageConfig((key) => app.node.tryGetContext(key));
  const stack = new OrdersStack(app, `KafkaOrders-${config.stage}`, { config });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (import.meta.main) {
  buildApp().app.synth();
}
