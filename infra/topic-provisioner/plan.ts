/**
 * What the topic provisioner does, apart from Kafka: {@link planTopics} decides how
 * to bring the existing topics to the specs (pure), {@link provisionTopics} applies
 * a plan through the small {@link TopicAdmin} port.
 */

/** What a topic should look like. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number;
}

/** What a topic looks like now; `retentionMs` is undefined when unknown. */
export interface TopicState {
  readonly partitions: number;
  readonly retentionMs: number | undefined;
}

/** What {@link planTopics} decided. */
export interface TopicPlan {
  /** Topics that do not exist yet. */
  readonly create: readonly TopicSpec[];
  /** Existing topics with fewer partitions than asked: raised to `partitions`. */
  readonly grow: readonly { name: string; partitions: number }[];
  /** Existing topics whose `retention.ms` differs from the spec. */
  readonly retention: readonly { name: string; retentionMs: number }[];
  /**
   * Existing topics with more partitions than asked: left alone, since Kafka cannot
   * remove partitions (and the key-to-partition mapping would change anyway).
   */
  readonly keepMorePartitions: readonly {
    name: string;
    partitions: number;
    requested: number;
  }[];
}

/**
 * Decides what to do to bring the existing topics to the specs. Pure: no I/O.
 *
 * @example
 * ```ts
 * const plan = planTopics(
 *   [{ name: 'order.placed.v1', partitions: 6, retentionMs: 259_200_000 }],
 *   new Map([['order.placed.v1', { partitions: 3, retentionMs: 259_200_000 }]]),
 * );
 * plan.grow; // [{ name: 'order.placed.v1', partitions: 6 }]
 * ```
 */
export function planTopics(
  desired: readonly TopicSpec[],
  existing: ReadonlyMap<string, TopicState>,
): TopicPlan {
  const create: TopicSpec[] = [];
  const grow: { name: string; partitions: number }[] = [];
  const retention: { name: string; retentionMs: number }[] = [];
  const keepMorePartitions: TopicPlan['keepMorePartitions'][number][] = [];
  for (const spec of desired) {
    const state = existing.get(spec.name);
    if (!state) {
      create.push(spec);
      continue;
    }
    if (state.partitions < spec.partitions) {
      grow.push({ name: spec.name, partitions: spec.partitions });
    } else if (state.partitions > spec.partitions) {
      keepMorePartitions.push({
        name: spec.name,
        partitions: state.partitions,
        requested: spec.partitions,
      });
    }
    if (state.retentionMs !== spec.retentionMs) {
      retention.push({ name: spec.name, retentionMs: spec.retentionMs });
    }
  }
  return { create, grow, retention, keepMorePartitions };
}

/**
 * The admin operations the provisioner needs; kafkajs behind it in Lambda, a fake in
 * unit tests.
 */
export interface TopicAdmin {
  /** The state of those of `names` that exist; missing topics are absent. */
  describe(names: readonly string[]): Promise<Map<string, TopicState>>;
  /** Creates topics (and waits for their partition leaders). */
  create(topics: readonly TopicSpec[]): Promise<void>;
  /** Raises partition counts to the given totals. */
  createPartitions(
    changes: readonly { name: string; partitions: number }[],
  ): Promise<void>;
  /** Sets `retention.ms` of existing topics. */
  setRetention(
    changes: readonly { name: string; retentionMs: number }[],
  ): Promise<void>;
}

/**
 * Describes the topics, plans and applies the plan. Idempotent: a second run with the
 * same specs finds nothing to do.
 *
 * @example
 * ```ts
 * const plan = await provisionTopics(admin, topics);
 * ```
 */
export async function provisionTopics(
  admin: TopicAdmin,
  desired: readonly TopicSpec[],
): Promise<TopicPlan> {
  const existing = await admin.describe(desired.map((topic) => topic.name));
  const plan = planTopics(desired, existing);
  if (plan.create.length > 0) await admin.create(plan.create);
  if (plan.grow.length > 0) await admin.createPartitions(plan.grow);
  if (plan.retention.length > 0) await admin.setRetention(plan.retention);
  return plan;
}
