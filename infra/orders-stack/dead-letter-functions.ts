/**
 * The dead-letter group of the orders stack: the reprocessor on every dead-letter
 * topic, the scheduled redrive, and the operators' admin API function.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import {
  CONSUMED_TOPICS,
  deadLetterTopic,
} from '../../functions/domain/events.ts';
import { KafkaConsumerFunction } from '../kafka-consumer-function.ts';
import { allowKafkaProducer } from '../kafka-producer-access.ts';
import { OrdersFunction } from '../orders-function.ts';
import type { FunctionWiring } from './wiring.ts';

/** The functions of the dead-letter group. */
export interface DeadLetterFunctions {
  readonly reprocessor: KafkaConsumerFunction;
  readonly redrive: OrdersFunction;
  readonly admin: OrdersFunction;
}

/**
 * Creates the dead-letter group's functions in the stack (construct ids
 * `DlqReprocessor`, `DlqRedrive` with its schedule `DlqRedriveSchedule`, and
 * `DlqAdmin`), with their grants.
 *
 * @example
 * ```ts
 * const { reprocessor, redrive, admin } = addDeadLetterFunctions(wiring);
 * ```
 */
export function addDeadLetterFunctions(
  wiring: FunctionWiring,
): DeadLetterFunctions {
  const { stack, config, data } = wiring;
  const reprocessor = addReprocessor(wiring);
  const redrive = deadLetterFunction(
    wiring,
    'DlqRedrive',
    'scheduledHandler',
    'Redrives dead letters whose backoff has passed',
  );
  new events.Rule(stack, 'DlqRedriveSchedule', {
    description: 'Redrive due dead letters',
    schedule: events.Schedule.rate(
      Duration.minutes(config.redriveEveryMinutes),
    ),
    targets: [new targets.LambdaFunction(redrive, { retryAttempts: 2 })],
  });
  const admin = deadLetterFunction(
    wiring,
    'DlqAdmin',
    'adminHandler',
    'Dead-letter admin API: list, show, redrive, discard',
    true,
  );
  for (const fn of [reprocessor.fn, redrive, admin]) {
    data.tables.deadLetters.grantReadWriteData(fn);
  }
  return { reprocessor, redrive, admin };
}

/**
 * dlq-reprocessor: every dead-letter topic, without a destination of its own and
 * with unlimited retries, so that a dead letter is never dropped.
 */
function addReprocessor({
  stack,
  config,
  cluster,
  tables,
  common,
  pollerGroupName,
  subscribe,
}: FunctionWiring): KafkaConsumerFunction {
  const reprocessor = new KafkaConsumerFunction(stack, 'DlqReprocessor', {
    ...common,
    entry: 'dlq-reprocessor.ts',
    description: 'Stores dead letters and schedules the retryable ones',
    environment: {
      DEAD_LETTERS_TABLE: tables.DEAD_LETTERS_TABLE as string,
    },
    cluster,
    esm: config.esm,
    pollerGroupName,
    subscriptions: subscribe(
      'dlq',
      CONSUMED_TOPICS.map(deadLetterTopic),
      'none',
    ),
  });
  reprocessor.allowProducingTo(CONSUMED_TOPICS);
  return reprocessor;
}

/** A function of `dlq-reprocessor.ts` other than its Kafka handler. */
function deadLetterFunction(
  { stack, cluster, tables, common, http }: FunctionWiring,
  id: string,
  handler: string,
  description: string,
  behindApi = false,
): OrdersFunction {
  const fn = new OrdersFunction(stack, id, {
    ...(behindApi ? http : common),
    entry: 'dlq-reprocessor.ts',
    handler,
    description,
    environment: {
      DEAD_LETTERS_TABLE: tables.DEAD_LETTERS_TABLE as string,
    },
  });
  allowKafkaProducer(fn, cluster, CONSUMED_TOPICS);
  return fn;
}
