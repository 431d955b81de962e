import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** Settings that differ between stages, read from `cdk.json` context. */
export interface OrdersStackProps extends StackProps {
  /** 'dev' or 'prod'. */
  readonly stage: string;
}

/**
 * The whole system in one stack: the Kafka cluster and topics, the three functions with
 * their event source mappings, the HTTP API and the tables. It is built up construct by
 * construct; the local runtime reads its synthesized template, so nothing here is
 * written twice.
 *
 * @example
 * ```ts
 * new OrdersStack(app, 'KafkaOrders-dev', { stage: 'dev' });
 * ```
 */
export class OrdersStack extends Stack {
  readonly stage: string;

  constructor(scope: Construct, id: string, props: OrdersStackProps) {
    super(scope, id, {
      description: `Orders and payments on Lambda and Amazon MSK (${props.stage})`,
      ...props,
    });
    this.stage = props.stage;
  }
}
