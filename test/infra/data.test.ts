import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OrdersTables } from '../../infra/data.ts';
import { TABLES } from '../../infra/tables.ts';

function synth(retainData: boolean): { stack: Stack; tables: OrdersTables } {
  const stack = new Stack();
  const tables = new OrdersTables(stack, 'Data', { retainData });
  return { stack, tables };
}

interface TableResource {
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

/** The one table resource whose logical id starts with the spec's id. */
function tableResource(template: Template, specId: string): TableResource {
  const tables = template.findResources('AWS::DynamoDB::GlobalTable') as Record<
    string,
    unknown
  > as Record<string, TableResource>;
  const matches = Object.entries(tables).filter(([logicalId]) =>
    logicalId.startsWith(`Data${specId}`),
  );
  expect(matches, specId).toHaveLength(1);
  const [, resource] = matches[0] as [string, TableResource];
  return resource;
}

describe('OrdersTables', () => {
  const specs = Object.values(TABLES);

  it('creates one table per spec', () => {
    // Act
    const template = Template.fromStack(synth(false).stack);

    // Assess
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', specs.length);
  });

  it.each(specs)('$id: on demand, PITR, AWS-managed encryption', (spec) => {
    // Act
    const table = tableResource(
      Template.fromStack(synth(false).stack),
      spec.id,
    );

    // Assess
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        expect.objectContaining({
          PointInTimeRecoverySpecification: {
            PointInTimeRecoveryEnabled: true,
          },
        }),
      ],
    });
  });

  it.each(specs)('$id: key schema from the spec, string keys', (spec) => {
    // Act
    const table = tableResource(
      Template.fromStack(synth(false).stack),
      spec.id,
    );

    // Assess
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: spec.partitionKey, KeyType: 'HASH' },
      ...('sortKey' in spec
        ? [{ AttributeName: spec.sortKey, KeyType: 'RANGE' }]
        : []),
    ]);
    const definitions = table.Properties.AttributeDefinitions as {
      AttributeType: string;
    }[];
    for (const definition of definitions) {
      expect(definition.AttributeType).toBe('S');
    }
  });

  it('gives DeadLetters the sharded byStatusShard index and no other table an index', () => {
    // Act
    const template = Template.fromStack(synth(false).stack);

    // Assess
    const deadLetters = tableResource(template, 'DeadLetters').Properties;
    expect(deadLetters.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byStatusShard',
        KeySchema: [
          { AttributeName: 'statusShard', KeyType: 'HASH' },
          { AttributeName: 'sortAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    // The former index's key is no key any more: it must not stay defined.
    expect(deadLetters.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'statusShard', AttributeType: 'S' },
        { AttributeName: 'sortAt', AttributeType: 'S' },
      ]),
    );
    expect(deadLetters.AttributeDefinitions).toHaveLength(3);
    for (const id of ['Orders', 'Payments', 'Idempotency']) {
      expect(
        tableResource(template, id).Properties.GlobalSecondaryIndexes,
        id,
      ).toBeUndefined();
    }
  });

  it('enables TTL on Idempotency only', () => {
    // Act
    const template = Template.fromStack(synth(false).stack);

    // Assess
    expect(
      tableResource(template, 'Idempotency').Properties.TimeToLiveSpecification,
    ).toEqual({ AttributeName: 'expiration', Enabled: true });
    for (const id of ['Orders', 'Payments', 'DeadLetters']) {
      expect(
        tableResource(template, id).Properties.TimeToLiveSpecification,
        id,
      ).toBeUndefined();
    }
  });

  it('retains and protects every table when retainData is set', () => {
    // Act
    const template = Template.fromStack(synth(true).stack);

    // Assess
    for (const spec of specs) {
      const table = tableResource(template, spec.id);
      expect(table.DeletionPolicy, spec.id).toBe('Retain');
      expect(table.UpdateReplacePolicy, spec.id).toBe('Retain');
      expect(table.Properties.Replicas, spec.id).toEqual([
        expect.objectContaining({ DeletionProtectionEnabled: true }),
      ]);
    }
  });

  it('destroys unprotected tables when retainData is not set', () => {
    // Act
    const template = Template.fromStack(synth(false).stack);

    // Assess
    for (const spec of specs) {
      const table = tableResource(template, spec.id);
      expect(table.DeletionPolicy, spec.id).toBe('Delete');
      expect(table.Properties.Replicas, spec.id).toEqual([
        expect.objectContaining({ DeletionProtectionEnabled: false }),
      ]);
    }
  });

  it('maps each spec environment variable to its table name', () => {
    // Prepare
    const { stack, tables } = synth(false);

    // Act
    const environment = stack.resolve(tables.environment());

    // Assess
    expect(Object.keys(environment).sort()).toEqual(
      specs.map((spec) => spec.envVar).sort(),
    );
    for (const spec of specs) {
      expect(environment[spec.envVar], spec.envVar).toEqual({
        Ref: expect.stringMatching(new RegExp(`^Data${spec.id}`)),
      });
    }
  });
});
