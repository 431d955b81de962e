/**
 * The cdk-nag (AWS Solutions) findings the orders stack accepts, each with its
 * reason. Anything not listed here fails the synth.
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.ts';
import type { OrdersHttpApi } from '../http-api.ts';

/**
 * Acknowledges the accepted findings on the stack, the dead-letter functions and
 * the open routes of the HTTP API.
 *
 * @example
 * ```ts
 * acknowledgeFindings(this, { config, api: this.api, deadLetterFunctions });
 * ```
 */
export function acknowledgeFindings(
  stack: Stack,
  {
    config,
    api,
    deadLetterFunctions,
  }: {
    readonly config: StageConfig;
    readonly api: OrdersHttpApi;
    readonly deadLetterFunctions: readonly Construct[];
  },
): void {
  const acknowledge = (scope: Construct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  const managed = (policy: string) =>
    `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${policy}]`;
  acknowledge(
    stack,
    managed('AWSLambdaBasicExecutionRole'),
    "Lambda's own managed policy: write the function's logs, nothing more",
  );
  acknowledge(
    stack,
    managed('AWSLambdaVPCAccessExecutionRole'),
    "Lambda's own managed policy for the network interfaces of functions in a VPC",
  );
  acknowledge(
    stack,
    managed('AWSLambdaMSKExecutionRole'),
    'Added by ManagedKafkaEventSource: what the event source mapping needs to ' +
      'describe the cluster and create its network interfaces (AWS docs: with-msk-permissions)',
  );
  for (const fn of deadLetterFunctions) {
    acknowledge(
      fn,
      'AwsSolutions-IAM5[Resource::<DataDeadLettersE8DA58CB.Arn>/index/*]',
      'grantReadWriteData covers the table indexes: the byStatusShard index lists dead ' +
        'letters by status and finds those due for a redrive',
    );
  }
  acknowledgeOpenRoutes(api, config, acknowledge);
}

/**
 * The health routes are open by design; only a stage that asks for public order
 * routes accepts them (config.ts refuses a stage without api.jwt that does not).
 */
function acknowledgeOpenRoutes(
  api: OrdersHttpApi,
  config: StageConfig,
  acknowledge: (scope: Construct, id: string, reason: string) => void,
): void {
  const { publicOrderRoutes } = config.api;
  const routes = api.api.node.children;
  for (const route of routes) {
    if (route.node.id.startsWith('GET--health')) {
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        'liveness and readiness: open by design for uptime checks, answers no data',
      );
    } else if (
      publicOrderRoutes &&
      !config.api.jwt &&
      route.node.id.includes('orders')
    ) {
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        `stage ${config.stage} sets api.publicOrderRoutes and no api.jwt: the ` +
          'order routes are public for trying the system; set api.jwt in cdk.json to require a JWT',
      );
    }
  }
}
