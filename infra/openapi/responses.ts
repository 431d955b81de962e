/**
 * The responses of the document: problem answers by status and problem type, the
 * API Gateway answers, headers, and the answers every route shares.
 */
import { componentRef } from './components.ts';
import type { OpenApiResponse } from './document-types.ts';
import { PROBLEM_TYPES, type ProblemSlug } from './problem-types.ts';
import type { Failure } from './route-doc.ts';

function problemSchema(status: number, problems: readonly ProblemSlug[]) {
  return {
    allOf: [
      { $ref: componentRef('Problem') },
      {
        type: 'object',
        properties: {
          type: { enum: problems.map((slug) => `/problems/${slug}`) },
          status: { const: status },
        },
      },
    ],
  };
}

function problemContent(status: number, problems: readonly ProblemSlug[]) {
  return {
    'application/problem+json': { schema: problemSchema(status, problems) },
  };
}

function problemDescription(
  description: string,
  problems: readonly ProblemSlug[],
): string {
  const lines = problems.map(
    (slug) => `- \`/problems/${slug}\`: ${PROBLEM_TYPES[slug]}`,
  );
  return [description, '', ...lines].join('\n');
}

const CORRELATION = {
  'x-correlation-id': { $ref: '#/components/headers/CorrelationId' },
};

export function headerRefs(
  names: readonly ('Location' | 'Retry-After')[] = [],
): Record<string, { $ref: string }> {
  const refs: Record<string, { $ref: string }> = { ...CORRELATION };
  for (const name of names) {
    refs[name] = {
      $ref: `#/components/headers/${name === 'Location' ? 'Location' : 'RetryAfter'}`,
    };
  }
  return refs;
}

function gatewayAnswer(description: string): OpenApiResponse {
  return {
    description,
    content: {
      'application/json': { schema: { $ref: componentRef('GatewayError') } },
    },
  };
}

export function failureAnswer(
  status: number,
  failure: Failure,
): OpenApiResponse {
  return {
    description: problemDescription(failure.description, failure.problems),
    headers: headerRefs(failure.retryAfter ? ['Retry-After'] : []),
    content: problemContent(status, failure.problems),
  };
}

/** The 404 of a route whose own answers have no 404 (e.g. `POST //orders`). */
export const ROUTE_NOT_FOUND: Failure = {
  description:
    'The path, as the function receives it, matches none of its routes (an empty segment, as in `//orders`).',
  problems: ['route-not-found'],
};

/** The answers every route (or every route of a kind) can give. */
export const COMMON_RESPONSES = {
  PayloadTooLarge: failureAnswer(413, {
    description: 'The body is over 64 KiB (any route).',
    problems: ['payload-too-large'],
  }),
  Internal: failureAnswer(500, {
    description: 'A bug, never the request’s fault.',
    problems: ['internal'],
  }),
  Unavailable: failureAnswer(503, {
    description:
      'A dependency is down or too slow: nothing was done. Retry after `Retry-After` seconds.',
    problems: ['unavailable'],
    retryAfter: true,
  }),
  Forbidden: gatewayAnswer(
    'API Gateway: the request is not signed by a principal allowed `execute-api:Invoke` (locally: no or a wrong admin token).',
  ),
  Unauthorized: gatewayAnswer(
    'API Gateway, only when the stage configures JWT: no bearer token, or one the authorizer refuses.',
  ),
  Throttled: gatewayAnswer(
    'API Gateway: over the stage’s throttling limits (not applied locally).',
  ),
} as const satisfies Record<string, OpenApiResponse>;
