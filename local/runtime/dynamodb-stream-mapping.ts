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
  type _Record,
  type AttributeValue,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import { LOCAL_AWS, localRequestLimits } from '#platform/dynamodb.ts';
import { compileRecordPattern } from './esm/filters.ts';
import type { InvokeResult } from './lambda.ts';
import type { LocalStreamMapping } from './template.ts';

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

/** A stream record as Lambda delivers it. */
export interface LambdaStreamRecord {
  readonly eventID: string;
  readonly eventName: string;
  readonly eventVersion: string;
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: Record<string, unknown>;
  readonly eventSourceARN: string;
  /** `{ type: 'Service', principalId: 'dynamodb.amazonaws.com' }` on a TTL delete. */
  readonly userIdentity?: {
    readonly type?: string;
    readonly principalId?: string;
  };
}

/** Shards are looked up again this often, for a shard that split or rolled over. */
const SHARD_SCAN_MS = 1000;
/** An idle shard is polled this often (Lambda: four times a second). */
const IDLE_POLL_MS = 250;
/** At most this many records' first sightings are kept (see `#stampAhead`). */
const MAX_STAMPS = 100_000;

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
  /** When a record was first seen, by `<shard>/<sequence number>` (`#stampAhead`). */
  readonly #firstSeen = new Map<string, number>();
  readonly #workers: Promise<void>[] = [];
  readonly #filters: ((record: unknown) => boolean)[];
  #scanner: Promise<void> | undefined;
  #invoked = 0;
  #filteredOut = 0;
  #givenUp = 0;

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
    this.#filters = mapping.filters.map(compileRecordPattern);
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
    return {
      invoked: this.#invoked,
      filteredOut: this.#filteredOut,
      givenUp: this.#givenUp,
    };
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
          const stopStamping = this.#stampAhead(
            shardId,
            page.NextShardIterator,
          );
          try {
            await this.#deliver(shardId, records);
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

  /**
   * While a batch is being delivered (its retries may take minutes), reads on ahead
   * of it and notes when each later record was first seen, so that its creation time
   * (which DynamoDB Local gives only to the minute) is when it was written, give or
   * take a poll, not when the blocked reader got to it (docs/outbox.md). A look-ahead
   * that fails just stops: the read time is then the bound. Returns its stopper.
   */
  #stampAhead(shardId: string, from: string | undefined): () => Promise<void> {
    if (from === undefined) return async () => {};
    const done = new AbortController();
    const running = (async () => {
      let iterator: string | undefined = from;
      while (iterator !== undefined && !done.signal.aborted && !this.#stopped) {
        try {
          const page: GetRecordsCommandOutput = await this.streams.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
            { abortSignal: done.signal },
          );
          const now = Date.now();
          for (const record of page.Records ?? []) {
            const key = `${shardId}/${record.dynamodb?.SequenceNumber}`;
            if (
              !this.#firstSeen.has(key) &&
              this.#firstSeen.size < MAX_STAMPS
            ) {
              this.#firstSeen.set(key, now);
            }
          }
          iterator = page.NextShardIterator;
          if ((page.Records ?? []).length === 0) {
            await delay(IDLE_POLL_MS, undefined, {
              signal: done.signal,
            }).catch(() => {});
          }
        } catch {
          return;
        }
      }
    })();
    return async () => {
      done.abort();
      await running;
    };
  }

  /** Delivers one batch of a shard, retried until done or given up. */
  async #deliver(shardId: string, records: readonly _Record[]): Promise<void> {
    const events: LambdaStreamRecord[] = [];
    const readAtMs = Date.now();
    for (const record of records) {
      const key = `${shardId}/${record.dynamodb?.SequenceNumber}`;
      const seenAtMs = this.#firstSeen.get(key);
      this.#firstSeen.delete(key);
      const event = toLambdaRecord(
        record,
        this.streamArn,
        this.region,
        Math.min(readAtMs, seenAtMs ?? readAtMs),
      );
      if (this.#filters.length > 0 && !this.#filters.some((f) => f(event))) {
        this.#filteredOut += 1;
      } else {
        events.push(event);
      }
    }
    if (events.length > 0) await this.#deliverBatch(shardId, events);
  }

  async #deliverBatch(
    shardId: string,
    batch: readonly LambdaStreamRecord[],
  ): Promise<void> {
    const { mapping } = this;
    let pending = batch;
    let retries = 0;
    let pause = this.options.retryDelayMs ?? 500;
    while (pending.length > 0 && !this.#stopped) {
      this.#invoked += pending.length;
      const result = await this.target.invoke({ Records: pending });
      const failedFrom = firstFailure(result, pending, mapping);
      if (failedFrom === undefined) return;
      const reason = result.ok
        ? `batch item failure at ${failedFrom}`
        : `${result.errorType}: ${result.errorMessage}`;
      pending = pending.slice(failedFrom);
      if (
        mapping.bisectBatchOnFunctionError &&
        !result.ok &&
        pending.length > 1
      ) {
        const half = Math.ceil(pending.length / 2);
        await this.#deliverBatch(shardId, pending.slice(0, half));
        await this.#deliverBatch(shardId, pending.slice(half));
        return;
      }
      retries += 1;
      const oldest = Number(
        (pending[0]?.dynamodb as { ApproximateCreationDateTime?: number })
          ?.ApproximateCreationDateTime ?? 0,
      );
      const tooOld =
        mapping.maximumRecordAgeSeconds >= 0 &&
        Date.now() / 1000 - oldest > mapping.maximumRecordAgeSeconds;
      if (
        tooOld ||
        (mapping.maximumRetryAttempts >= 0 &&
          retries > mapping.maximumRetryAttempts)
      ) {
        this.#giveUp(
          shardId,
          pending,
          tooOld ? 'RecordAgeExceeded' : 'RetriesExhausted',
          reason,
        );
        return;
      }
      this.#log(`${reason}; retry ${retries} in ${pause} ms`);
      await this.#pause(pause);
      pause = Math.min(pause * 2, this.options.maxRetryDelayMs ?? 5000);
    }
  }

  #giveUp(
    shardId: string,
    records: readonly LambdaStreamRecord[],
    condition: string,
    reason: string,
  ): void {
    this.#givenUp += 1;
    const first = records[0]?.dynamodb as { SequenceNumber?: string };
    const last = records.at(-1)?.dynamodb as { SequenceNumber?: string };
    this.#log(
      `gave up ${records.length} record(s) (${condition}: ${reason}); on-failure ${
        this.mapping.onFailureDestination ?? '(none)'
      } would get ${JSON.stringify({
        requestContext: { condition, functionArn: this.target.name },
        DDBStreamBatchInfo: {
          shardId,
          startSequenceNumber: first?.SequenceNumber,
          endSequenceNumber: last?.SequenceNumber,
          batchSize: records.length,
          streamArn: this.streamArn,
        },
      })}`,
    );
  }
}

/**
 * The index of the first record to retry, or undefined when the batch succeeded.
 * A partial batch response names records by `dynamodb.SequenceNumber`; Lambda
 * resumes from the lowest one named, and an empty, missing or unknown
 * `itemIdentifier` fails the whole batch, while a null or empty response or
 * `batchItemFailures` is a success
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
 *
 * @example
 * ```ts
 * firstFailure(
 *   { ok: true, result: { batchItemFailures: [{ itemIdentifier: '200' }] }, durationMs: 1 },
 *   batch, // sequence numbers 100, 200, 300
 *   mapping, // with reportBatchItemFailures
 * ); // 1
 * ```
 */
export function firstFailure(
  result: InvokeResult,
  batch: readonly LambdaStreamRecord[],
  mapping: LocalStreamMapping,
): number | undefined {
  if (!result.ok) return 0;
  if (!mapping.reportBatchItemFailures) return undefined;
  const failures = (result.result as { batchItemFailures?: unknown } | null)
    ?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  const sequences = batch.map(
    (record) => (record.dynamodb as { SequenceNumber?: string }).SequenceNumber,
  );
  let lowest: number | undefined;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    const index = typeof id === 'string' && id ? sequences.indexOf(id) : -1;
    // Lambda treats an identifier it cannot place as a failure of the whole batch.
    if (index < 0) return 0;
    lowest = lowest === undefined ? index : Math.min(lowest, index);
  }
  return lowest;
}

/**
 * A record of GetRecords as Lambda hands it to a function: timestamps in whole
 * epoch seconds, binary attributes in base64, the stream's ARN and the region added.
 * `readAtMs`, when the mapping read the record, sharpens DynamoDB Local's creation
 * time (see {@link creationSeconds}).
 */
export function toLambdaRecord(
  record: _Record,
  streamArn: string,
  region: string,
  readAtMs?: number,
): LambdaStreamRecord {
  const data = record.dynamodb ?? {};
  const created = creationSeconds(data.ApproximateCreationDateTime, readAtMs);
  const image = (value: Record<string, AttributeValue> | undefined) =>
    value === undefined ? {} : { value: toJsonImage(value) };
  const keys = image(data.Keys);
  const newImage = image(data.NewImage);
  const oldImage = image(data.OldImage);
  return {
    eventID: record.eventID ?? '',
    eventName: record.eventName ?? '',
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ...(created === undefined
        ? {}
        : { ApproximateCreationDateTime: created }),
      ...('value' in keys ? { Keys: keys.value } : {}),
      ...('value' in newImage ? { NewImage: newImage.value } : {}),
      ...('value' in oldImage ? { OldImage: oldImage.value } : {}),
      SequenceNumber: data.SequenceNumber,
      SizeBytes: data.SizeBytes,
      StreamViewType: data.StreamViewType,
    },
    eventSourceARN: streamArn,
    // Only on a deletion by TTL, as Lambda has it.
    ...(record.userIdentity
      ? {
          userIdentity: {
            type: record.userIdentity.Type,
            principalId: record.userIdentity.PrincipalId,
          },
        }
      : {}),
  };
}

function toJsonImage(
  image: Record<string, AttributeValue>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(image).map(([name, value]) => [name, toJsonValue(value)]),
  );
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** An attribute value in the JSON of Lambda's event (binary as base64). */
function toJsonValue(value: AttributeValue): unknown {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: toJsonImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toJsonValue) };
  return value;
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

/**
 * `ApproximateCreationDateTime` in whole epoch seconds, as AWS gives it. DynamoDB
 * Local rounds it down to the minute; the second the mapping read the record is a
 * closer bound (never before the write), so the later of the two is given. The relay
 * counts from it while a fence may still be on its way (docs/outbox.md).
 */
export function creationSeconds(
  created: Date | undefined,
  readAtMs?: number,
): number | undefined {
  if (created === undefined) return undefined;
  const seconds = Math.floor(created.getTime() / 1000);
  return readAtMs === undefined
    ? seconds
    : Math.max(seconds, Math.floor(readAtMs / 1000));
}
