/**
 * An event source mapping on a DynamoDB table's stream, run against DynamoDB Local's
 * streams API, as Lambda runs one (docs/outbox.md, "The local stream mapping"):
 * - every shard is read in order, a child shard after its parent; one batch of a
 *   shard at a time (ParallelizationFactor 1), of up to `BatchSize` records, each
 *   shard polled 4 times a second when it has nothing new;
 * - the function gets `{ Records: [...] }` in Lambda's shape (`eventSource`
 *   `aws:dynamodb`, `eventSourceARN`, `dynamodb.ApproximateCreationDateTime` in whole
 *   seconds), only the records that pass `FilterCriteria`;
 * - a failed invocation is retried with the same records; with
 *   `ReportBatchItemFailures`, from the lowest reported sequence number on (an
 *   unknown or empty identifier fails the whole batch); with
 *   `BisectBatchOnFunctionError`, a failed batch is split in two and each half
 *   retried; after `MaximumRetryAttempts` or `MaximumRecordAgeInSeconds` the batch is
 *   given up: its on-failure record is logged (SQS and SNS destinations are not
 *   emulated), and the shard moves on.
 * Checkpoints live in memory: a restart reads from the starting position again.
 *
 * Where it still differs from Lambda:
 * - `FilterCriteria` is applied to the records of one GetRecords call, so a batch
 *   can hold fewer than `BatchSize` matching records while more wait in the shard;
 * - `MaximumBatchingWindowInSeconds` and `ParallelizationFactor` above 1 are read
 *   from the template but not applied (batches go as soon as read, one per shard);
 * - `MaximumRecordAgeInSeconds` is checked only when a batch has failed, not
 *   before the first invocation of records already too old;
 * - a partial batch response that fails the whole batch (an unknown identifier) is
 *   retried whole, never bisected, even with `BisectBatchOnFunctionError`;
 * - at `LATEST`, an iterator that expires before any record was handled is not
 *   asked for again (that would skip what was written meanwhile): the shard keeps
 *   logging errors;
 * - `awsRegion` is the mapping's configured region, not DynamoDB Local's.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { LOCAL_AWS, localRequestLimits } from '#platform/dynamodb.ts';
import { compileRecordPattern } from '../esm/filters.ts';
import type { InvokeResult } from '../lambda.ts';
import type { LocalStreamMapping } from '../template.ts';
import { BatchDelivery } from './delivery.ts';
import { FirstSightings } from './first-sightings.ts';

/** What the mapping invokes. */
export interface StreamTarget {
  readonly name: string;
  invoke(event: unknown): Promise<InvokeResult>;
}

export interface StreamMappingOptions {
  readonly endpoint: string;
  readonly region?: string;
  readonly log?: (line: string) => void;
  /** The pause before retrying a failed batch: doubles from this. Default 500 ms. */
  readonly retryDelayMs?: number;
  /** The longest such pause. Default 5 s. */
  readonly maxRetryDelayMs?: number;
  /** Each DynamoDB and DynamoDB Streams call fails after this. Default 10 s. */
  readonly requestTimeoutMs?: number;
}

/** A running stream mapping. */
export interface LocalStreamMappingRunner {
  /** Records handed to the function (passed the filters), and batches given up. */
  stats(): { invoked: number; filteredOut: number; givenUp: number };
  /** Stops polling; an invocation in flight finishes first. */
  stop(): Promise<void>;
}

/** Shards are looked up again this often, for a shard that split or rolled over. */
const SHARD_SCAN_MS = 1000;
/** An idle shard is polled this often (Lambda: four times a second). */
const IDLE_POLL_MS = 250;

/**
 * Starts polling the table's stream for `mapping` and invoking `target`.
 *
 * @example
 * ```ts
 * const relay = await startStreamMapping(mapping, lambda, { endpoint });
 * await relay.stop();
 * ```
 */
export async function startStreamMapping(
  mapping: LocalStreamMapping,
  target: StreamTarget,
  options: StreamMappingOptions,
): Promise<LocalStreamMappingRunner> {
  const region = options.region ?? LOCAL_AWS.region;
  const client = {
    endpoint: options.endpoint,
    region,
    credentials: LOCAL_AWS.credentials,
    requestHandler: localRequestLimits(options.requestTimeoutMs),
  };
  const tables = new DynamoDBClient(client);
  const table = await tables
    .send(new DescribeTableCommand({ TableName: mapping.tableLogicalId }))
    .finally(() => {
      tables.destroy();
    });
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) {
    throw new Error(
      `event source mapping ${mapping.logicalId}: table ${mapping.tableLogicalId} has no stream`,
    );
  }
  const mappingRun = new StreamMapping(
    mapping,
    target,
    new DynamoDBStreamsClient(client),
    streamArn,
    region,
    options,
  );
  mappingRun.start();
  return mappingRun;
}

class StreamMapping implements LocalStreamMappingRunner {
  readonly #stopping = new AbortController();
  readonly #started = new Set<string>();
  readonly #finished = new Set<string>();
  readonly #workers: Promise<void>[] = [];
  readonly #sightings: FirstSightings;
  readonly #delivery: BatchDelivery;
  #scanner: Promise<void> | undefined;

  readonly mapping: LocalStreamMapping;
  readonly target: StreamTarget;
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly region: string;
  readonly options: StreamMappingOptions;

  constructor(
    mapping: LocalStreamMapping,
    target: StreamTarget,
    streams: DynamoDBStreamsClient,
    streamArn: string,
    region: string,
    options: StreamMappingOptions,
  ) {
    this.mapping = mapping;
    this.target = target;
    this.streams = streams;
    this.streamArn = streamArn;
    this.region = region;
    this.options = options;
    this.#sightings = new FirstSightings(
      streams,
      () => this.#stopped,
      IDLE_POLL_MS,
    );
    this.#delivery = new BatchDelivery({
      mapping,
      target,
      streamArn,
      region,
      options,
      filters: mapping.filters.map(compileRecordPattern),
      sightings: this.#sightings,
      log: (line) => this.#log(line),
      pause: (ms) => this.#pause(ms),
      stopped: () => this.#stopped,
    });
  }

  #log(line: string): void {
    (this.options.log ?? console.log)(
      `[${streamLabel(this.mapping.tableLogicalId)} -> ${this.target.name}] ${line}`,
    );
  }

  start(): void {
    this.#scanner = this.#scan();
  }

  stats() {
    return this.#delivery.stats();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#scanner;
    await Promise.all(this.#workers);
    this.streams.destroy();
  }

  get #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  async #pause(ms: number): Promise<void> {
    await delay(ms, undefined, { signal: this.#stopping.signal }).catch(
      () => {},
    );
  }

  /** Finds shards and starts each once its parent is done. */
  async #scan(): Promise<void> {
    let first = true;
    while (!this.#stopped) {
      try {
        const shards = await this.#shards();
        const known = new Set(shards.map((shard) => shard.ShardId));
        for (const shard of shards) {
          const id = shard.ShardId as string;
          if (this.#started.has(id)) continue;
          const parent = shard.ParentShardId;
          if (parent && known.has(parent) && !this.#finished.has(parent)) {
            continue;
          }
          this.#started.add(id);
          // Shards there at start begin at the mapping's position; later ones at
          // their start, so that nothing written to them is missed.
          const position = first
            ? this.mapping.startingPosition
            : 'TRIM_HORIZON';
          this.#workers.push(this.#readShard(id, position));
        }
        first = false;
      } catch (error) {
        if (!this.#stopped) this.#log(`cannot list shards: ${String(error)}`);
      }
      await this.#pause(SHARD_SCAN_MS);
    }
  }

  async #shards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const page = await this.streams.send(
        new DescribeStreamCommand({
          StreamArn: this.streamArn,
          ExclusiveStartShardId: start,
        }),
      );
      shards.push(...(page.StreamDescription?.Shards ?? []));
      start = page.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }

  async #readShard(
    shardId: string,
    position: 'TRIM_HORIZON' | 'LATEST',
  ): Promise<void> {
    let iterator: string | undefined;
    // The last record handled (delivered, filtered out or given up): an iterator
    // lost to an error (expired after 15 minutes of retries, DynamoDB Local
    // restarted) is asked for again right after it.
    let handled: string | undefined;
    while (!this.#stopped) {
      try {
        iterator ??= (
          await this.streams.send(
            new GetShardIteratorCommand({
              StreamArn: this.streamArn,
              ShardId: shardId,
              ...(handled === undefined
                ? { ShardIteratorType: position }
                : {
                    ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
                    SequenceNumber: handled,
                  }),
            }),
          )
        ).ShardIterator;
        if (!iterator) break;
        const page = await this.streams.send(
          new GetRecordsCommand({
            ShardIterator: iterator,
            Limit: this.mapping.batchSize,
          }),
        );
        const records = page.Records ?? [];
        if (records.length > 0) {
          const stopStamping = this.#sightings.stampAhead(
            shardId,
            page.NextShardIterator,
          );
          try {
            await this.#delivery.deliver(shardId, records);
          } finally {
            await stopStamping();
          }
          handled = records.at(-1)?.dynamodb?.SequenceNumber ?? handled;
        }
        iterator = page.NextShardIterator;
        // A closed shard has no next iterator: its children take over.
        if (!iterator) break;
        if (records.length === 0) await this.#pause(IDLE_POLL_MS);
      } catch (error) {
        if (this.#stopped) break;
        this.#log(`shard ${shardId}: ${String(error)}; reading again`);
        // From the last record handled; before any, only TRIM_HORIZON can be
        // asked for again without skipping records (LATEST would move on).
        if (handled !== undefined || position === 'TRIM_HORIZON') {
          iterator = undefined;
        }
        await this.#pause(this.options.retryDelayMs ?? 500);
      }
    }
    this.#finished.add(shardId);
  }
}

/**
 * How log lines name a table's stream: its logical id without the hash CDK appends
 * (`DataOrders20A4E13F` -> `DataOrders stream`).
 *
 * @example
 * ```ts
 * streamLabel('DataOrders20A4E13F'); // 'DataOrders stream'
 * ```
 */
export function streamLabel(tableLogicalId: string): string {
  return `${tableLogicalId.replace(/(?<=.)[0-9A-F]{8}$/, '')} stream`;
}
