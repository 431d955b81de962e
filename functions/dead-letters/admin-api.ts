/**
 * The operators' HTTP entry point of the dead-letter reprocessor (never public;
 * IAM-authorized on AWS), one route per use case of ./use-cases.ts:
 *     GET  /dead-letters?status=&topic=&limit=&cursor=   list and filter
 *     GET  /dead-letters/{id}                             show one
 *     POST /dead-letters/{id}/redrive                     redrive, optionally with { value } corrected
 *     POST /dead-letters/redrive                          redrive many: { ids: [...] }
 *     POST /dead-letters/{id}/discard                     discard: { reason }
 * Each route parses the request, calls one use case and maps its result; errors map
 * to problem responses in {@link mapReprocessorErrors}.
 */
import httpRouterHandler from '@middy/http-router';
import {
  DeadLetterNotFoundError,
  DeadLetterStateError,
  InvalidCursorError,
} from '#commons/dead-letter-repository.ts';
import { edgeHandler } from '#commons/edge-handler.ts';
import {
  fieldErrors,
  type HttpEvent,
  type HttpResult,
  httpEdge,
  json,
  ProblemError,
  parseJsonBody,
} from '#commons/http.ts';
import {
  DeadLetterId,
  DeadLetterListQuery,
  type DeadLetterPage,
  DiscardRequest,
  RedriveManyRequest,
  type RedriveManyResponse,
  RedriveRequest,
} from '#domain/dead-letter.ts';
import { present } from './dead-letter-view.ts';
import {
  discardDeadLetter,
  InvalidCorrectionError,
  listDeadLetters,
  type ReprocessorDependencies,
  redriveDeadLetters,
  redriveWithCorrection,
  showDeadLetter,
} from './use-cases.ts';

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

/** Who acts: the IAM caller's ARN, else `operator`. */
function operator(event: HttpEvent): string {
  const iam = (
    event.requestContext as {
      authorizer?: { iam?: { userArn?: string | null } };
    }
  ).authorizer?.iam?.userArn;
  return iam ?? 'operator';
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
  if (error instanceof InvalidCorrectionError) {
    return new ProblemError(400, 'validation', error.message, {
      errors: fieldErrors(error.issues).map((e) => ({
        ...e,
        field: e.field ? `value.${e.field}` : 'value',
      })),
    });
  }
  return undefined;
}

/** GET /dead-letters: {@link listDeadLetters}. */
async function listRoute(
  deps: ReprocessorDependencies,
  event: HttpEvent,
): Promise<HttpResult> {
  const parsed = DeadLetterListQuery.safeParse(
    event.queryStringParameters ?? {},
  );
  if (!parsed.success) {
    throw new ProblemError(400, 'validation', 'Invalid query', {
      errors: fieldErrors(parsed.error),
    });
  }
  const page = await listDeadLetters(deps, parsed.data);
  return json(200, {
    items: page.items.map(present),
    cursor: page.cursor,
  } satisfies DeadLetterPage);
}

/** POST /dead-letters/redrive: {@link redriveDeadLetters}. */
async function redriveManyRoute(
  deps: ReprocessorDependencies,
  event: HttpEvent,
): Promise<HttpResult> {
  const request = parseJsonBody(event, RedriveManyRequest);
  const outcomes = await redriveDeadLetters(
    deps,
    request.ids,
    operator(event),
    request.note ?? null,
  );
  const results: RedriveManyResponse['results'] = outcomes.map((outcome) => {
    if ('status' in outcome) return outcome;
    // Both refusals map to a problem: mapReprocessorErrors takes them.
    const problem = mapReprocessorErrors(outcome.refused) as ProblemError;
    return {
      id: outcome.id,
      error: problem.title,
      ...(problem.detail ? { detail: problem.detail } : {}),
    };
  });
  return json(200, { results } satisfies RedriveManyResponse);
}

/** POST /dead-letters/{id}/redrive: {@link redriveWithCorrection}. */
async function redriveRoute(
  deps: ReprocessorDependencies,
  event: HttpEvent,
): Promise<HttpResult> {
  const request = event.body
    ? parseJsonBody(event, RedriveRequest.optional())
    : {};
  const done = await redriveWithCorrection(
    deps,
    idFrom(event),
    operator(event),
    {
      ...(request && 'value' in request && request.value !== undefined
        ? { value: request.value }
        : {}),
      note: request?.note ?? null,
    },
  );
  return json(200, present(done));
}

/** POST /dead-letters/{id}/discard: {@link discardDeadLetter}. */
async function discardRoute(
  deps: ReprocessorDependencies,
  event: HttpEvent,
): Promise<HttpResult> {
  const { reason } = parseJsonBody(event, DiscardRequest);
  const done = await discardDeadLetter(
    deps,
    idFrom(event),
    operator(event),
    reason,
  );
  return json(200, present(done));
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
  const routes = httpRouterHandler<HttpEvent, HttpResult>([
    {
      method: 'GET',
      path: '/dead-letters',
      handler: (event: HttpEvent) => listRoute(deps, event),
    },
    {
      method: 'GET',
      path: '/dead-letters/{id}',
      handler: async (event: HttpEvent) =>
        json(200, present(await showDeadLetter(deps, idFrom(event)))),
    },
    {
      method: 'POST',
      path: '/dead-letters/redrive',
      handler: (event: HttpEvent) => redriveManyRoute(deps, event),
    },
    {
      method: 'POST',
      path: '/dead-letters/{id}/redrive',
      handler: (event: HttpEvent) => redriveRoute(deps, event),
    },
    {
      method: 'POST',
      path: '/dead-letters/{id}/discard',
      handler: (event: HttpEvent) => discardRoute(deps, event),
    },
  ]);
  const { logger } = deps;
  return edgeHandler(
    { logger },
    routes,
    httpEdge({ logger, map: mapReprocessorErrors }),
  );
}
