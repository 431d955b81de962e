/**
 * What a mapping tells those who watch it (the local console, the tests): counters
 * named like the ESM's CloudWatch metrics, and each invocation as runs of offsets.
 */
import type { InvokeResult } from '../lambda.ts';

/**
 * A run of consecutive offsets of one partition that one invocation carried.
 *
 * @example
 * ```ts
 * const run: OffsetRun = { partition: 0, from: 10, to: 14 }; // offsets 10-14
 * ```
 */
export interface OffsetRun {
  readonly partition: number;
  /** First offset of the run. */
  readonly from: number;
  /** Last offset of the run (inclusive). */
  readonly to: number;
}

/**
 * One invocation of the mapping's function, as the `observe` option of
 * `EventSourceMappingOptions` (./mapping.ts) is told of it.
 *
 * @example
 * ```ts
 * const observe = (i: EsmInvocation) => console.log(i.attempt, i.outcome);
 * ```
 */
export interface EsmInvocation {
  /** 1 for a batch's first try, 2.. for the retries of the same records. */
  readonly attempt: number;
  /** Epoch milliseconds when the invocation was started. */
  readonly startedAt: number;
  /** The records invoked, as runs of offsets, partitions ascending. */
  readonly records: readonly OffsetRun[];
  /** What the function returned or how it failed. */
  readonly result: InvokeResult;
  /** A partial batch response that named failures is `partial`. */
  readonly outcome: 'success' | 'partial' | 'failure';
}

/**
 * The records as runs of consecutive offsets per partition (records of a partition
 * come in offset order in a batch): what an observer keeps instead of one entry per
 * record.
 *
 * @example
 * ```ts
 * offsetRuns([{ partition: 0, offset: 4 }, { partition: 0, offset: 5 }]);
 * // [{ partition: 0, from: 4, to: 5 }]
 * ```
 */
export function offsetRuns(
  records: readonly { readonly partition: number; readonly offset: number }[],
): OffsetRun[] {
  const runs: OffsetRun[] = [];
  let partition = -1;
  let from = -1;
  let to = -1;
  for (const record of records) {
    if (record.partition === partition && record.offset === to + 1) {
      to = record.offset;
      continue;
    }
    if (partition >= 0) runs.push({ partition, from, to });
    partition = record.partition;
    from = record.offset;
    to = record.offset;
  }
  if (partition >= 0) runs.push({ partition, from, to });
  return runs.sort((a, b) => a.partition - b.partition || a.from - b.from);
}

/**
 * Counters named like the ESM's CloudWatch metrics (docs/aws-kafka-esm.md, CDK
 * properties).
 *
 * @example
 * ```ts
 * esm.metrics().CommittedEventCount; // 12
 * ```
 */
export interface EsmMetrics {
  PolledEventCount: number;
  FilteredOutEventCount: number;
  InvokedEventCount: number;
  FailedInvokeEventCount: number;
  InvokeErrorCount: number;
  DroppedEventCount: number;
  OnFailureDestinationDeliveredEventCount: number;
  OnFailureDestinationDeliveryErrorCount: number;
  CommittedEventCount: number;
  CommitErrorCount: number;
}

/** Every counter at zero: a mapping's metrics when it is made. */
export function noMetrics(): EsmMetrics {
  return {
    PolledEventCount: 0,
    FilteredOutEventCount: 0,
    InvokedEventCount: 0,
    FailedInvokeEventCount: 0,
    InvokeErrorCount: 0,
    DroppedEventCount: 0,
    OnFailureDestinationDeliveredEventCount: 0,
    OnFailureDestinationDeliveryErrorCount: 0,
    CommittedEventCount: 0,
    CommitErrorCount: 0,
  };
}
