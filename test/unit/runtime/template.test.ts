/**
 * Reading the system from the synthesized template (local/runtime/template.ts). The
 * expectations come from the same sources the stack is built from (topics, routes,
 * tables, stage settings), so nothing is written twice here either.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSUMED_TOPICS, deadLetterTopic, TOPICS } from '#domain/events.ts';
import { stageConfig } from '#infra/config.ts';
import { ADMIN_ROUTES, ORDER_ROUTES } from '#infra/http-api.ts';
import { ORDER_PATH_TOPICS } from '#infra/orders-stack.ts';
import { createTableInput, TABLES } from '#infra/tables.ts';
import { topicsFor } from '#infra/topics.ts';
import {
  type CfnResource,
  type CfnTemplate,
  InvalidTemplateError,
  readSystem,
  type SystemModel,
  synthesizeTemplate,
  UnresolvableReferenceError,
  UnsupportedTemplateError,
} from '../../../local/runtime/template.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const LOCAL = {
  brokers: ['127.0.0.1:19092', '127.0.0.1:19093'],
  dynamodbEndpoint: 'http://127.0.0.1:18000',
};
const config = stageConfig((key) => (key === 'stage' ? 'dev' : undefined));

let template: CfnTemplate;
let system: SystemModel;

beforeAll(() => {
  template = synthesizeTemplate('dev');
  system = readSystem(template, LOCAL);
}, 60_000);

/** A copy of the template with one resource changed or added. */
function withResource(id: string, resource: CfnResource): CfnTemplate {
  return {
    Resources: { ...structuredClone(template.Resources), [id]: resource },
  };
}

function resourceOf(logicalId: string): CfnResource {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`no ${logicalId}`);
  return structuredClone(resource);
}

function byName(name: string) {
  const fn = system.functions.find((f) => f.name === name);
  if (!fn) throw new Error(`no function ${name}`);
  return fn;
}

describe('readSystem on the dev template', () => {
  it('finds the seven functions of the system, not CDK helpers', () => {
    // Act
    const functions = system.functions.map((fn) => [
      fn.name,
      fn.entry,
      fn.handler,
    ]);

    // Assess
    expect(functions).toEqual([
      ['order-api', 'functions/order-api.ts', 'handler'],
      ['outbox-relay', 'functions/outbox-relay.ts', 'handler'],
      ['order-events', 'functions/order-events.ts', 'handler'],
      ['payment', 'functions/payment.ts', 'handler'],
      ['dlq-reprocessor', 'functions/dlq-reprocessor.ts', 'handler'],
      ['dlq-redrive', 'functions/dlq-reprocessor.ts', 'scheduledHandler'],
      ['dlq-admin', 'functions/dlq-reprocessor.ts', 'adminHandler'],
    ]);
    for (const fn of system.functions) {
      expect(existsSync(path.join(REPO_ROOT, fn.entry))).toBe(true);
      // Behind the API, at most 29 s (API Gateway gives up at 30 s).
      const behindApi = fn.name === 'order-api' || fn.name === 'dlq-admin';
      expect(fn.timeoutSeconds).toBe(
        behindApi
          ? Math.min(config.functions.timeoutSeconds, 29)
          : config.functions.timeoutSeconds,
      );
      expect(fn.memoryMb).toBe(config.functions.memoryMb);
    }
  });

  it('resolves every environment variable to a local value', () => {
    // Act
    const payment = byName('payment');
    const orderApi = byName('order-api');

    // Assess
    for (const fn of system.functions) {
      for (const value of Object.values(fn.environment)) {
        expect(typeof value).toBe('string');
      }
      expect(fn.environment).toMatchObject({
        KAFKA_BROKERS: '127.0.0.1:19092,127.0.0.1:19093',
        KAFKA_AUTH: 'none',
        DYNAMODB_ENDPOINT: LOCAL.dynamodbEndpoint,
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: fn.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      });
      expect(fn.environment.AWS_ACCESS_KEY_ID).toBeTruthy();
      expect(fn.environment.AWS_SECRET_ACCESS_KEY).toBeTruthy();
    }
    const tableNames = new Map(
      system.tables.map((t) => [t.logicalId, t.tableName]),
    );
    const tableOf = (id: string) =>
      system.tables.find((t) => t.logicalId.startsWith(`Data${id}`))?.tableName;
    expect(payment.environment.PAYMENTS_TABLE).toBe(tableOf('Payments'));
    expect(orderApi.environment.ORDERS_TABLE).toBe(tableOf('Orders'));
    expect(orderApi.environment.IDEMPOTENCY_TABLE).toBe(tableOf('Idempotency'));
    expect(byName('dlq-admin').environment.DEAD_LETTERS_TABLE).toBe(
      tableOf('DeadLetters'),
    );
    expect([...tableNames.values()]).toHaveLength(4);
  });

  it('reads one mapping per subscribed topic, with the stage settings', () => {
    // Prepare
    const functionOf = (logicalId: string) =>
      system.functions.find((fn) => fn.logicalId === logicalId)?.name;

    // Act
    const mappings = system.mappings.map((m) => ({
      fn: functionOf(m.functionLogicalId),
      topic: m.topic,
      group: m.consumerGroupId,
      destination: m.onFailureDestination,
    }));

    // Assess
    const consumer =
      (fn: string, group: string, dlt: boolean) => (t: string) => ({
        fn,
        topic: t,
        group: `KafkaOrders-dev-${group}-${t}-g1`,
        destination: dlt ? `kafka://${deadLetterTopic(t)}` : undefined,
      });
    expect(mappings).toHaveLength(12);
    expect(mappings).toEqual(
      expect.arrayContaining([
        ...[
          TOPICS.paymentProcessed,
          TOPICS.paymentFailed,
          TOPICS.paymentRefunded,
        ].map(consumer('order-events', 'order', true)),
        ...[
          TOPICS.orderPlaced,
          TOPICS.orderCancelled,
          TOPICS.paymentOrphaned,
        ].map(consumer('payment', 'payment', true)),
        ...CONSUMED_TOPICS.map(deadLetterTopic).map(
          consumer('dlq-reprocessor', 'dlq', false),
        ),
      ]),
    );
    for (const m of system.mappings) {
      const dlt = m.onFailureDestination !== undefined;
      expect(m).toMatchObject({
        startingPosition: 'TRIM_HORIZON',
        batchSize: config.esm.batchSize,
        maximumBatchingWindowSeconds: ORDER_PATH_TOPICS.includes(m.topic)
          ? config.esm.orderPathBatchingWindowSeconds
          : config.esm.maxBatchingWindowSeconds,
        maximumRetryAttempts: dlt ? config.esm.retryAttempts : -1,
        maximumRecordAgeSeconds: dlt ? config.esm.maxRecordAgeSeconds : -1,
        bisectBatchOnFunctionError: config.esm.bisectBatchOnError,
        reportBatchItemFailures: true,
        minimumPollers: config.esm.minimumPollers,
        maximumPollers: config.esm.maximumPollers,
        enabled: true,
        filters: [],
      });
    }
  });

  it("reads dev's order path with window 0, so the local ESM invokes at once", () => {
    const windows = system.mappings
      .filter((m) => ORDER_PATH_TOPICS.includes(m.topic))
      .map((m) => m.maximumBatchingWindowSeconds);
    expect(windows).toEqual(ORDER_PATH_TOPICS.map(() => 0));
  });

  it('reads every route with its function and authorization', () => {
    // Act
    const routes = system.routes.map((r) => ({
      routeKey: r.routeKey,
      fn: system.functions.find((fn) => fn.logicalId === r.functionLogicalId)
        ?.name,
      auth: r.authorizationType,
      payload: r.payloadFormatVersion,
    }));

    // Assess
    expect(routes).toHaveLength(ORDER_ROUTES.length + ADMIN_ROUTES.length);
    expect(routes).toEqual(
      expect.arrayContaining([
        ...ORDER_ROUTES.map((routeKey) => ({
          routeKey,
          fn: 'order-api',
          auth: 'NONE',
          payload: '2.0',
        })),
        ...ADMIN_ROUTES.map((routeKey) => ({
          routeKey,
          fn: 'dlq-admin',
          auth: 'AWS_IAM',
          payload: '2.0',
        })),
      ]),
    );
  });

  it('reads the four tables with their keys and indexes', () => {
    // Act
    const tables = new Map(
      system.tables.map((t) => [t.logicalId.replace(/^Data|.{8}$/g, ''), t]),
    );

    // Assess
    expect(system.tables).toHaveLength(4);
    for (const spec of Object.values(TABLES)) {
      const table = tables.get(spec.id);
      if (!table) throw new Error(`no table ${spec.id}`);
      const expected = createTableInput(spec, table.tableName);
      expect(table.createTableInput.TableName).toBe(table.tableName);
      expect(table.createTableInput.KeySchema).toEqual(expected.KeySchema);
      expect(table.createTableInput.GlobalSecondaryIndexes).toEqual(
        expected.GlobalSecondaryIndexes,
      );
      expect(
        new Set(table.createTableInput.AttributeDefinitions?.map((a) => a)),
      ).toEqual(new Set(expected.AttributeDefinitions));
      expect(table.timeToLiveAttribute).toBe(
        'timeToLiveAttribute' in spec ? spec.timeToLiveAttribute : undefined,
      );
      expect(table.createTableInput.StreamSpecification).toEqual(
        expected.StreamSpecification,
      );
    }
  });

  it("reads the outbox relay's mapping on the orders table's stream", () => {
    // Act
    const orders = system.tables.find((t) =>
      t.logicalId.startsWith('DataOrders'),
    );

    // Assess
    expect(orders?.createTableInput.StreamSpecification).toEqual({
      StreamEnabled: true,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(system.streamMappings).toEqual([
      {
        logicalId: expect.stringMatching(/^OutboxRelay/),
        functionLogicalId: byName('outbox-relay').logicalId,
        tableLogicalId: orders?.logicalId,
        startingPosition: 'TRIM_HORIZON',
        batchSize: 100,
        maximumBatchingWindowSeconds: 0,
        maximumRetryAttempts: -1,
        maximumRecordAgeSeconds: -1,
        bisectBatchOnFunctionError: false,
        reportBatchItemFailures: true,
        parallelizationFactor: 1,
        enabled: true,
        filters: [
          JSON.stringify({
            eventName: ['INSERT', 'MODIFY'],
            dynamodb: { NewImage: { sk: { S: ['SNAPSHOT'] } } },
          }),
        ],
      },
    ]);
    // Not mistaken for a Kafka mapping.
    expect(
      system.mappings.some((m) => m.functionLogicalId === orders?.logicalId),
    ).toBe(false);
  });

  it('reads the thirteen topics of the stage', () => {
    // Assess
    expect(system.topics).toEqual(topicsFor(config.kafka));
    expect(system.topics).toHaveLength(13);
  });

  it('reads the redrive schedule', () => {
    // Assess
    expect(system.schedules).toEqual([
      {
        ruleLogicalId: expect.stringMatching(/^DlqRedriveSchedule/),
        functionLogicalId: byName('dlq-redrive').logicalId,
        everySeconds: config.redriveEveryMinutes * 60,
      },
    ]);
  });
});

describe('readSystem on templates it cannot run', () => {
  it('names the function and variable of an unresolvable reference', () => {
    // Prepare: a variable pointing at the MSK cluster, which has no local twin.
    const id = byName('payment').logicalId;
    const payment = resourceOf(id);
    const cluster = Object.entries(template.Resources).find(
      ([, r]) => r.Type === 'AWS::MSK::ServerlessCluster',
    )?.[0];
    const environment = payment.Properties?.Environment as {
      Variables: Record<string, unknown>;
    };
    environment.Variables.MSK_CLUSTER_ARN = { 'Fn::GetAtt': [cluster, 'Arn'] };

    // Act
    const read = () => readSystem(withResource(id, payment), LOCAL);

    // Assess
    expect(read).toThrow(UnresolvableReferenceError);
    expect(read).toThrow(
      /^payment: MSK_CLUSTER_ARN: .*AWS::MSK::ServerlessCluster/,
    );
  });

  it('refuses a cron schedule', () => {
    // Prepare
    const [ruleId] = Object.entries(template.Resources).find(
      ([, r]) => r.Type === 'AWS::Events::Rule',
    ) as [string, CfnResource];
    const rule = resourceOf(ruleId);
    const props = rule.Properties as Record<string, unknown>;
    props.ScheduleExpression = 'cron(0 12 * * ? *)';

    // Act
    const read = () => readSystem(withResource(ruleId, rule), LOCAL);

    // Assess
    expect(read).toThrow(UnsupportedTemplateError);
    expect(read).toThrow(/cron\(0 12/);
  });

  it("applies Lambda's defaults to a mapping that leaves them out", () => {
    // Prepare
    const fn = byName('payment').logicalId;
    const bare: CfnResource = {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: { Ref: fn },
        Topics: ['shipping.requested.v1'],
        StartingPosition: 'LATEST',
        FilterCriteria: { Filters: [{ Pattern: '{"value":{"a":[1]}}' }] },
        Enabled: false,
      },
    };

    // Act
    const mapping = readSystem(withResource('Bare', bare), LOCAL).mappings.find(
      (m) => m.logicalId === 'Bare',
    );

    // Assess
    expect(mapping).toEqual({
      logicalId: 'Bare',
      functionLogicalId: fn,
      topic: 'shipping.requested.v1',
      consumerGroupId: 'Bare',
      startingPosition: 'LATEST',
      batchSize: 100,
      maximumBatchingWindowSeconds: 0.5,
      maximumRetryAttempts: -1,
      maximumRecordAgeSeconds: -1,
      bisectBatchOnFunctionError: false,
      reportBatchItemFailures: false,
      enabled: false,
      filters: ['{"value":{"a":[1]}}'],
    });
  });

  it('refuses a mapping on a function that is not part of the system', () => {
    // Prepare
    const helper = Object.entries(template.Resources).find(
      ([, r]) => r.Type === 'AWS::Lambda::Function' && !r.Metadata,
    )?.[0];
    const mapping: CfnResource = {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: { FunctionName: { Ref: helper }, Topics: ['t'] },
    };

    // Act
    const read = () => readSystem(withResource('Stray', mapping), LOCAL);

    // Assess
    expect(read).toThrow(InvalidTemplateError);
    expect(read).toThrow(/event source mapping Stray/);
  });
});
