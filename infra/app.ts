/**
 * The CDK app (`cdk.json` runs it with Node's TypeScript support: `node infra/app.ts`).
 * `-c stage=prod` selects the stage; `dev` is the default.
 */
import { App } from 'aws-cdk-lib';
import { OrdersStack } from './orders-stack.ts';

/** Builds the app for a stage; the infra tests call this too. */
export function buildApp(app = new App()): { app: App; stack: OrdersStack } {
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const stack = new OrdersStack(app, `KafkaOrders-${stage}`, { stage });
  return { app, stack };
}

if (import.meta.main) {
  buildApp().app.synth();
}
