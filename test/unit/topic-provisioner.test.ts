import type { CloudFormationCustomResourceDeleteEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler, TopicsProperties } from '#infra/topic-provisioner/handler.ts';
import {
  planTopics,
  provisionTopics,
  type TopicAdmin,
  type TopicSpec,
  type TopicState,
} from '#infra/topic-provisioner/plan.ts';

const DAY = 86_400_000;

function spec(name: string, partitions = 3, retentionMs = DAY): TopicSpec {
  return { name, partitions, retentionMs };
}

/** An in-memory cluster behind the TopicAdmin port, recording every call. */
function fakeAdmin(initial: Record<string, TopicState> = {}) {
  const topics = new Map(Object.entries(initial));
  const calls: string[] = [];
  const admin: TopicAdmin = {
    async describe(names) {
      calls.push('describe');
      return new Map(
        names.flatMap((name) => {
          const state = topics.get(name);
          return state ? [[name, state] as const] : [];
        }),
      );
    },
    async create(specs) {
      calls.push(`create:${specs.map((s) => s.name).join(',')}`);
      for (const s of specs) {
        topics.set(s.name, {
          partitions: s.partitions,
          retentionMs: s.retentionMs,
        });
      }
    },
    async createPartitions(changes) {
      calls.push(`grow:${changes.map((c) => c.name).join(',')}`);
      for (const c of changes) {
        const state = topics.get(c.name) as TopicState;
        topics.set(c.name, { ...state, partitions: c.partitions });
      }
    },
    async setRetention(changes) {
      calls.push(`retention:${changes.map((c) => c.name).join(',')}`);
      for (const c of changes) {
        const state = topics.get(c.name) as TopicState;
        topics.set(c.name, { ...state, retentionMs: c.retentionMs });
      }
    },
  };
  return { admin, topics, calls };
}

describe('planTopics', () => {
  it('creates every topic on an empty cluster', () => {
    // Act
    const plan = planTopics([spec('a'), spec('b', 6)], new Map());

    // Assess
    expect(plan).toEqual({
      create: [spec('a'), spec('b', 6)],
      grow: [],
      retention: [],
      keepMorePartitions: [],
    });
  });

  it('does nothing when the topics already match', () => {
    // Act
    const plan = planTopics(
      [spec('a')],
      new Map([['a', { partitions: 3, retentionMs: DAY }]]),
    );

    // Assess
    expect(plan).toEqual({
      create: [],
      grow: [],
      retention: [],
      keepMorePartitions: [],
    });
  });

  it('grows partition counts that are too low', () => {
    // Act
    const plan = planTopics(
      [spec('a', 6)],
      new Map([['a', { partitions: 3, retentionMs: DAY }]]),
    );

    // Assess
    expect(plan.grow).toEqual([{ name: 'a', partitions: 6 }]);
    expect(plan.create).toEqual([]);
  });

  it('never lowers partition counts, but reports them', () => {
    // Act
    const plan = planTopics(
      [spec('a', 2)],
      new Map([['a', { partitions: 3, retentionMs: DAY }]]),
    );

    // Assess
    expect(plan.grow).toEqual([]);
    expect(plan.keepMorePartitions).toEqual([
      { name: 'a', partitions: 3, requested: 2 },
    ]);
  });

  it('sets retention when it differs or is unknown', () => {
    // Act
    const plan = planTopics(
      [spec('a', 3, 2 * DAY), spec('b')],
      new Map<string, TopicState>([
        ['a', { partitions: 3, retentionMs: DAY }],
        ['b', { partitions: 3, retentionMs: undefined }],
      ]),
    );

    // Assess
    expect(plan.retention).toEqual([
      { name: 'a', retentionMs: 2 * DAY },
      { name: 'b', retentionMs: DAY },
    ]);
  });
});

describe('provisionTopics', () => {
  it('creates, grows and sets retention in one run, then finds nothing to do', async () => {
    // Prepare
    const { admin, topics, calls } = fakeAdmin({
      old: { partitions: 1, retentionMs: DAY },
      kept: { partitions: 3, retentionMs: 7 * DAY },
    });
    const desired = [spec('new'), spec('old', 3), spec('kept')];

    // Act
    await provisionTopics(admin, desired);
    const second = await provisionTopics(admin, desired);

    // Assess
    expect(calls).toEqual([
      'describe',
      'create:new',
      'grow:old',
      'retention:kept',
      'describe',
    ]);
    expect(Object.fromEntries(topics)).toEqual({
      new: { partitions: 3, retentionMs: DAY },
      old: { partitions: 3, retentionMs: DAY },
      kept: { partitions: 3, retentionMs: DAY },
    });
    expect(second.create).toEqual([]);
    expect(second.grow).toEqual([]);
    expect(second.retention).toEqual([]);
  });
});

describe('TopicsProperties', () => {
  it('coerces the strings CloudFormation sends into numbers', () => {
    // Act
    const parsed = TopicsProperties.parse({
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:x',
      ClusterArn: 'arn:aws:kafka:eu-west-1:123456789012:cluster/c/u',
      Topics: [
        { Name: 'order.placed.v1', Partitions: '3', RetentionMs: '1000' },
      ],
    });

    // Assess
    expect(parsed.Topics).toEqual([
      { name: 'order.placed.v1', partitions: 3, retentionMs: 1000 },
    ]);
  });

  it.each([
    [[{ Name: 'bad name', Partitions: '1', RetentionMs: '1' }], /topic name/],
    [[{ Name: 'a', Partitions: '0', RetentionMs: '1' }], /Partitions/],
    [
      [
        { Name: 'a', Partitions: '1', RetentionMs: '1' },
        { Name: 'a', Partitions: '2', RetentionMs: '1' },
      ],
      /unique/,
    ],
    [[], /Topics/],
  ])('rejects invalid topics %j', (topics, message) => {
    // Act
    const result = TopicsProperties.safeParse({ Topics: topics });

    // Assess
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });
});

describe('handler', () => {
  it('keeps the topics on Delete and touches no broker', async () => {
    // Prepare: no KAFKA_BROKERS, so any connection attempt would throw.
    const event = {
      RequestType: 'Delete',
      PhysicalResourceId: 'kafka-topics',
      ResourceProperties: { ServiceToken: 'x', Topics: [] },
    } as unknown as CloudFormationCustomResourceDeleteEvent;

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual({ PhysicalResourceId: 'kafka-topics', Data: {} });
  });
});
