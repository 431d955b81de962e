/**
 * The dead-letter reprocessor (docs/domain.md section 7), one function with three entry
 * points:
 * - `handler`: Kafka, on every `<topic>.dead-letter`: stores each dead letter, whether a
 *   consumer wrote it or the event source mapping's on-failure destination did, and
 *   schedules the retryable ones for an automatic redrive with backoff;
 * - `scheduledHandler`: on a schedule, redrives what has come due;
 * - `adminHandler`: the operators' HTTP routes (never public; IAM-authorized on AWS):
 *     GET  /dead-letters?status=&topic=&limit=&cursor=   list and filter
 *     GET  /dead-letters/{id}                             show one
 *     POST /dead-letters/{id}/redrive                     redrive, optionally with { value } corrected
 *     POST /dead-letters/redrive                          redrive many: { ids: [...] }
 *     POST /dead-letters/{id}/discard                     discard: { reason }
 * Nothing is ever deleted or overwritten: every change is a status with a line in the
 * history; the original record stays as received, a corrected value is kept in the
 * history entry of the redrive that sent it, and a record that fails again after a
 * redrive comes back as a new letter linked to the one it was redriven from.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import * as z from 'zod';
import {
  ConsumerConcurrency,
  DynamoDbConfig,
  KafkaConfig,
  loadConfig,
  tableName,
} from '#commons/config.ts';
import { parseDeadLetter } from '#commons/dead-letter-codec.ts';
import {
  createDeadLetterRepository,
  DeadLetterNotFoundError,
  type DeadLetterRepository,
  DeadLetterStateError,
  InvalidCursorError,
} from '#commons/dead-letter-repository.ts';
import { createDocumentClient } from '#commons/dynamodb.ts';
import {
  bodyLimit,
  fieldErrors,
  type HttpEvent,
  type HttpResult,
  json,
  ProblemError,
  parseJsonBody,
  problemResponses,
} from '#commons/http.ts';
import {
  createKafkaConsumer,
  DeadLetterRecursionError,
} from '#commons/kafka-consumer.ts';
import {
  createKafkaPublisher,
  type EventPublisher,
} from '#commons/kafka-publisher.ts';
import type { KafkaBatchResponse } from '#commons/msk-event.ts';
import { createLogger, createMetrics } from '#commons/observability.ts';
import { TABLES } from '#commons/table-specs.ts';
import {
  correctionOf,
  type DeadLetter,
  type DeadLetterAction,
  DeadLetterId,
  DeadLetterListQuery,
  type DeadLetterPage,
  type DeadLetterStatus,
  type DeadLetterView,
  DiscardRequest,
  type ReceivedDeadLetter,
  RedriveManyRequest,
  type RedriveManyResponse,
  RedriveRequest,
} from '#domain/dead-letter.ts';
import { DomainEvent, TOPICS } from '#domain/events.ts';
import {
  DEFAULT_REDRIVE_POLICY,
  decideRedrive,
  type RedrivePolicy,
  redriveHeaders,
} from '#domain/redrive-policy.ts';

/** What the reprocessor needs; wired from the environment below. */
export interface ReprocessorDependencies {
  readonly deadLetters: DeadLetterRepository;
  readonly publisher: EventPublisher;
  readonly policy: RedrivePolicy;
  readonly now: () => Date;
  readonly random: () => number;
  readonly logger: Logger;
  /** Batch metrics (records consumed, dead-lettered, failed) per topic. */
  readonly metrics?: Metrics;
  /**
   * Records of different keys of one partition handled at once (the consumer's
   * `concurrency`; its default when absent). From `CONSUMER_CONCURRENCY`.
   */
  readonly concurrency?: number;
}

/**
 * Stores a dead letter as received, with the policy's decision: SCHEDULED (automatic
 * redrive at `redriveAt`) or PARKED (for an operator). Storing twice is a no-op. A
 * letter that came back after a redrive is first added to its predecessor's
 * `redrivenTo` (idempotent, so a redelivery after a crash in between completes it).
 */
export async function receiveDeadLetter(
  deps: ReprocessorDependencies,
  letter: ReceivedDeadLetter,
): Promise<'saved' | 'exists'> {
  const now = deps.now();
  const decision = decideRedrive(letter, deps.policy, now, deps.random);
  const at = now.toISOString();
  if (letter.redrivenFrom !== null) {
    await linkToPredecessor(deps, letter.redrivenFrom, letter.id);
  }
  const stored: DeadLetter = {
    ...letter,
    redrivenTo: [],
    status: decision.status,
    redriveAt: decision.status === 'SCHEDULED' ? decision.redriveAt : null,
    history: [
      { at, action: 'RECEIVED', by: 'dlq-reprocessor', note: null },
      {
        at,
        action: decision.status,
        by: 'dlq-reprocessor',
        note: decision.note,
      },
    ],
  };
  const result = await deps.deadLetters.save(stored);
  if (
    result === 'saved' &&
    stored.redriveAt !== null &&
    Date.parse(stored.redriveAt) <= now.getTime()
  ) {
    // Due at once (no backoff configured): no need to wait for the schedule.
    await redrive(deps, stored, 'dlq-reprocessor');
  }
  deps.logger.debug(
    result === 'saved' ? 'dead letter stored' : 'dead letter seen before',
    {
      deadLetterId: letter.id,
      topic: letter.original.topic,
      status: stored.status,
      correlationId: letter.correlationId,
    },
  );
  return result;
}

/**
 * Links a letter to the one it was redriven from. A predecessor that is not stored (a
 * `redriven-from` header from elsewhere, or a letter of another table) is logged, not an
 * error: the new letter is stored all the same, with its `redrivenFrom`.
 */
async function linkToPredecessor(
  deps: ReprocessorDependencies,
  from: string,
  to: string,
): Promise<void> {
  try {
    await deps.deadLetters.linkRedrive(from, to);
  } catch (error) {
    if (!(error instanceof DeadLetterNotFoundError)) throw error;
    deps.logger.warn('redriven from a dead letter that is not stored', {
      deadLetterId: to,
      redrivenFrom: from,
    });
  }
}

/** Statuses a dead letter can be redriven (or discarded) from. */
const REDRIVABLE: readonly DeadLetterStatus[] = ['SCHEDULED', 'PARKED'];

/**
 * Sends a dead letter's record back to its original topic (original key, headers with
 * `redrive-attempt` incremented, the correlation id kept and the lineage headers set;
 * the value corrected when given), then marks it REDRIVEN, with the correction and the
 * outcome in the history entry; the stored original is never changed. Sending first: a
 * crash in between redrives it once more, which consumers tolerate, rather than marking
 * a record redriven that never was.
 */
export async function redrive(
  deps: ReprocessorDependencies,
  letter: DeadLetter,
  by: string,
  options: { value?: Buffer; note?: string | null } = {},
): Promise<DeadLetter> {
  if (!REDRIVABLE.includes(letter.status)) {
    throw new DeadLetterStateError(
      `dead letter ${letter.id} is ${letter.status}; only ${REDRIVABLE.join(' or ')} ones can be redriven`,
      letter.status,
    );
  }
  const { original } = letter;
  const value =
    options.value ??
    (original.value === null ? null : Buffer.from(original.value, 'base64'));
  if (value === null) {
    throw new DeadLetterStateError(
      `dead letter ${letter.id} has no value to redrive; send a corrected value`,
      letter.status,
    );
  }
  const headers: Record<string, Buffer> = {};
  for (const header of redriveHeaders(letter)) {
    headers[header.key] = header.value;
  }
  await deps.publisher.send(original.topic, [
    {
      key: original.key === null ? null : Buffer.from(original.key, 'base64'),
      value,
      headers,
    },
  ]);
  const attempt = letter.attempt + 1;
  const action: DeadLetterAction = {
    at: deps.now().toISOString(),
    action: 'REDRIVEN',
    by,
    note: options.note ?? null,
    correction: options.value ? correctionOf(options.value) : null,
    outcome: { result: 'SENT', topic: original.topic, attempt },
  };
  return deps.deadLetters.transition(letter.id, REDRIVABLE, {
    status: 'REDRIVEN',
    attempt,
    action,
  });
}

/**
 * Redrives every SCHEDULED dead letter that has come due, up to `limit`; one that fails
 * stays SCHEDULED and is tried again at the next run.
 */
export async function redriveDue(
  deps: ReprocessorDependencies,
  limit = 100,
): Promise<{ redriven: number; failed: number }> {
  const due = await deps.deadLetters.listDue(deps.now(), limit);
  let redriven = 0;
  let failed = 0;
  for (const letter of due) {
    try {
      await redrive(deps, letter, 'dlq-reprocessor (schedule)');
      redriven += 1;
    } catch (error) {
      failed += 1;
      deps.logger.warn('redrive failed; it stays scheduled', {
        deadLetterId: letter.id,
        error: error as Error,
      });
    }
  }
  if (due.length > 0)
    deps.logger.info('due dead letters', { redriven, failed });
  return { redriven, failed };
}

/**
 * The Kafka handler over every dead-letter topic.
 *
 * @example
 * ```ts
 * const handler = createReprocessorHandler(deps);
 * ```
 */
export function createReprocessorHandler(deps: ReprocessorDependencies) {
  const consume = createKafkaConsumer({
    name: 'dlq-reprocessor',
    // Any JSON: both dead-letter formats are told apart and checked by the codec.
    schema: z.unknown(),
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
    deadLetters: {
      send: async (topic) => {
        throw new DeadLetterRecursionError(
          `the reprocessor parks what it cannot read; it never writes ${topic}`,
        );
      },
    },
    // A dead letter it cannot read is itself stored, PARKED, with its raw bytes.
    park: async (letter) => {
      await receiveDeadLetter(deps, letter);
    },
    handle: async (record) => {
      await receiveDeadLetter(
        deps,
        parseDeadLetter(record.value, {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
        }),
      );
    },
  });
  return middy<unknown, KafkaBatchResponse>()
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics ?? createMetrics('dlq-reprocessor')))
    .handler((event, context) => consume(event, context));
}

/** The scheduled handler: redrives what has come due. */
export function createScheduledHandler(deps: ReprocessorDependencies) {
  return middy<unknown, { redriven: number; failed: number }>()
    .use(injectLambdaContext(deps.logger))
    .handler(() => redriveDue(deps));
}

/** Our own topics' events must still satisfy the contract after a correction. */
const KNOWN_TOPICS = new Set<string>(Object.values(TOPICS));

function correctedValue(topic: string, value: unknown): Buffer {
  if (KNOWN_TOPICS.has(topic)) {
    const result = DomainEvent.safeParse(value);
    if (!result.success) {
      throw new ProblemError(
        400,
        'validation',
        'The corrected value breaks the event contract',
        {
          errors: fieldErrors(result.error).map((e) => ({
            ...e,
            field: e.field ? `value.${e.field}` : 'value',
          })),
        },
      );
    }
  }
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Bytes (base64) as text where they are UTF-8, else null. */
function text(base64: string | null): string | null {
  if (base64 === null) return null;
  const bytes = Buffer.from(base64, 'base64');
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : null;
}

/**
 * A dead letter with the original's key and value, and each correction's value, also
 * shown as text where they are UTF-8.
 */
function present(letter: DeadLetter): DeadLetterView {
  return {
    ...letter,
    original: {
      ...letter.original,
      keyText: text(letter.original.key),
      valueText: text(letter.original.value),
    },
    history: letter.history.map(({ correction, ...entry }) => ({
      ...entry,
      // Absent stays absent and null stays null: only a correction gets its text.
      ...(correction === undefined
        ? {}
        : {
            correction: correction && {
              ...correction,
              valueText: text(correction.value),
            },
          }),
    })),
  };
}

/**
 * The `{id}` of a route. API Gateway hands it percent-decoded, a router that matched
 * the raw path does not: decoded once more where that is possible (an id never holds
 * `%`). One that cannot be an id is not found, whatever it is (a `%` alone once threw
 * URIError, a 500).
 */
function idFrom(event: HttpEvent): string {
  const given = event.pathParameters?.id ?? '';
  let id = given;
  try {
    id = decodeURIComponent(given);
  } catch {
    // Not percent-encoded (e.g. a lone `%`): taken as it is, and refused below.
  }
  if (!DeadLetterId.safeParse(id).success) {
    throw new DeadLetterNotFoundError(
      `no dead letter ${JSON.stringify(id.slice(0, 300))}`,
    );
  }
  return id;
}

function mapReprocessorErrors(error: unknown): ProblemError | undefined {
  if (error instanceof DeadLetterNotFoundError) {
    return new ProblemError(404, 'dead-letter-not-found', 'Not found', {
      detail: error.message,
    });
  }
  if (error instanceof DeadLetterStateError) {
    return new ProblemError(409, 'invalid-state', 'Not in that state', {
      detail: error.message,
    });
  }
  if (error instanceof InvalidCursorError) {
    return new ProblemError(400, 'invalid-cursor', 'Invalid cursor', {
      detail: error.message,
    });
  }
  return undefined;
}

/**
 * The admin HTTP API over the stored dead letters.
 *
 * @example
 * ```ts
 * const admin = createAdminHandler(deps);
 * ```
 */
export function createAdminHandler(deps: ReprocessorDependencies) {
  const load = async (id: string) => {
    const letter = await deps.deadLetters.get(id);
    if (!letter) throw new DeadLetterNotFoundError(`no dead letter ${id}`);
    return letter;
  };
  const operator = (event: HttpEvent) => {
    const iam = (
      event.requestContext as {
        authorizer?: { iam?: { userArn?: string | null } };
      }
    ).authorizer?.iam?.userArn;
    return iam ?? 'operator';
  };
  const routes = httpRouterHandler<HttpEvent, HttpResult>([
    {
      method: 'GET',
      path: '/dead-letters',
      handler: async (event: HttpEvent) => {
        const parsed = DeadLetterListQuery.safeParse(
          event.queryStringParameters ?? {},
        );
        if (!parsed.success) {
          throw new ProblemError(400, 'validation', 'Invalid query', {
            errors: fieldErrors(parsed.error),
          });
        }
        const page = await deps.deadLetters.list(parsed.data);
        return json(200, {
          items: page.items.map(present),
          cursor: page.cursor,
        } satisfies DeadLetterPage);
      },
    },
    {
      method: 'GET',
      path: '/dead-letters/{id}',
      handler: async (event: HttpEvent) =>
        json(200, present(await load(idFrom(event)))),
    },
    {
      method: 'POST',
      path: '/dead-letters/redrive',
      handler: async (event: HttpEvent) => {
        const request = parseJsonBody(event, RedriveManyRequest);
        const results: RedriveManyResponse['results'] = [];
        for (const id of request.ids) {
          try {
            const letter = await redrive(
              deps,
              await load(id),
              operator(event),
              {
                note: request.note ?? null,
              },
            );
            results.push({ id, status: letter.status });
          } catch (error) {
            const problem = mapReprocessorErrors(error);
            if (!problem) throw error;
            results.push({
              id,
              error: problem.title,
              ...(problem.detail ? { detail: problem.detail } : {}),
            });
          }
        }
        return json(200, { results } satisfies RedriveManyResponse);
      },
    },
    {
      method: 'POST',
      path: '/dead-letters/{id}/redrive',
      handler: async (event: HttpEvent) => {
        const request = event.body
          ? parseJsonBody(event, RedriveRequest.optional())
          : {};
        const letter = await load(idFrom(event));
        const value =
          request && 'value' in request && request.value !== undefined
            ? correctedValue(letter.original.topic, request.value)
            : undefined;
        const done = await redrive(deps, letter, operator(event), {
          ...(value ? { value } : {}),
          note: request?.note ?? null,
        });
        return json(200, present(done));
      },
    },
    {
      method: 'POST',
      path: '/dead-letters/{id}/discard',
      handler: async (event: HttpEvent) => {
        const { reason } = parseJsonBody(event, DiscardRequest);
        const letter = await load(idFrom(event));
        const done = await deps.deadLetters.transition(letter.id, REDRIVABLE, {
          status: 'DISCARDED',
          action: {
            at: deps.now().toISOString(),
            action: 'DISCARDED',
            by: operator(event),
            note: reason,
          },
        });
        return json(200, present(done));
      },
    },
  ]);
  return middy<HttpEvent, HttpResult>()
    .use(problemResponses({ logger: deps.logger, map: mapReprocessorErrors }))
    .use(bodyLimit())
    .handler(routes);
}

/** Redrive settings from the environment; every one has a default. */
export const RedriveSettings = z
  .object({
    REDRIVE_MAX_ATTEMPTS: z.coerce
      .number()
      .int()
      .min(0)
      .default(DEFAULT_REDRIVE_POLICY.maxAttempts),
    REDRIVE_BASE_DELAY_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(DEFAULT_REDRIVE_POLICY.baseDelayMs),
    REDRIVE_MAX_DELAY_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(DEFAULT_REDRIVE_POLICY.maxDelayMs),
  })
  .transform((env) => ({
    maxAttempts: env.REDRIVE_MAX_ATTEMPTS,
    baseDelayMs: env.REDRIVE_BASE_DELAY_MS,
    maxDelayMs: env.REDRIVE_MAX_DELAY_MS,
  }));

function wireFromEnvironment(): ReprocessorDependencies {
  const config = loadConfig({
    kafka: KafkaConfig,
    dynamodb: DynamoDbConfig,
    deadLettersTable: tableName(TABLES.deadLetters.envVar),
    policy: RedriveSettings,
    concurrency: ConsumerConcurrency,
  });
  const logger = createLogger('dlq-reprocessor');
  return {
    deadLetters: createDeadLetterRepository(
      createDocumentClient(config.dynamodb),
      config.deadLettersTable,
    ),
    publisher: createKafkaPublisher(config.kafka, { logger }),
    policy: config.policy,
    now: () => new Date(),
    random: Math.random,
    logger,
    metrics: createMetrics('dlq-reprocessor'),
    ...(config.concurrency ? { concurrency: config.concurrency } : {}),
  };
}

const dependencies = wireFromEnvironment();

/** Kafka: every dead-letter topic. */
export const handler = createReprocessorHandler(dependencies);
/** Schedule: redrive what has come due. */
export const scheduledHandler = createScheduledHandler(dependencies);
/** Admin HTTP routes. */
export const adminHandler = createAdminHandler(dependencies);
