/** One operation of the document per route: parameters, body, responses, security. */
import type * as z from 'zod';
import { DeadLetterId } from '#domain/dead-letter.ts';
import { OrderId } from '#domain/events.ts';
import { ADMIN_ROUTES, PUBLIC_ROUTES } from '../http-api.ts';
import { ADMIN_ROUTE_DOCS } from './admin-route-docs.ts';
import { componentRef, jsonSchema } from './components.ts';
import type {
  DocumentedRoute,
  OpenApiOperation,
  OpenApiParameter,
  OpenApiResponse,
} from './document-types.ts';
import { ORDER_ROUTE_DOCS } from './order-route-docs.ts';
import {
  type COMMON_RESPONSES,
  failureAnswer,
  headerRefs,
  ROUTE_NOT_FOUND,
} from './responses.ts';
import type { Failure, RouteDoc, Success } from './route-doc.ts';

/** What the document says of every route. */
const ROUTE_DOCS: Readonly<Record<DocumentedRoute, RouteDoc>> = {
  ...ORDER_ROUTE_DOCS,
  ...ADMIN_ROUTE_DOCS,
};

/** The path parameters of a route, by name. */
const PATH_PARAMETERS: Readonly<
  Record<string, { schema: z.ZodType; description: string }>
> = {
  orderId: {
    schema: OrderId,
    description:
      'The order’s id: 1-64 of `A-Z a-z 0-9 _ -` (anything else is 404).',
  },
  id: {
    schema: DeadLetterId,
    description:
      'The dead letter’s id, `<dead-letter topic>:<partition>:<offset>`, percent-encoded or not (anything else is 404).',
  },
};

/** `{orderId}` of `/orders/{orderId}/events`. */
function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{([^}+]+)\+?\}/g)].map((match) => match[1] ?? '');
}

/**
 * The operation of one route: its parameters, request body, responses and security.
 *
 * @example
 * ```ts
 * operation('POST /orders').responses['201'];
 * ```
 */
export function operation(route: DocumentedRoute): OpenApiOperation {
  const doc = ROUTE_DOCS[route];
  const [, path = ''] = route.split(' ');
  const admin = (ADMIN_ROUTES as readonly string[]).includes(route);
  const open = PUBLIC_ROUTES.has(route);
  return {
    operationId: operationId(route),
    summary: doc.summary,
    description: doc.description,
    tags: [doc.tag],
    security: admin ? [{ awsSigv4: [] }] : open ? [] : [{}, { ordersJwt: [] }],
    parameters: parametersOf(path, doc),
    ...requestBodyOf(doc),
    responses: responsesOf(doc, { admin, open }),
  };
}

/** The path parameters, then the query parameters, then the headers of a route. */
function parametersOf(path: string, doc: RouteDoc): OpenApiParameter[] {
  const parameters: OpenApiParameter[] = pathParameterNames(path).map(
    (name) => {
      const known = PATH_PARAMETERS[name];
      if (!known) throw new Error(`no description of path parameter {${name}}`);
      return {
        name,
        in: 'path',
        required: true,
        description: known.description,
        schema: jsonSchema(known.schema),
      };
    },
  );
  for (const [name, field] of Object.entries(doc.query?.shape ?? {})) {
    const schema = jsonSchema(field as z.ZodType);
    parameters.push({
      name,
      in: 'query',
      required: false,
      description: QUERY_DESCRIPTIONS[name] ?? name,
      schema,
    });
  }
  for (const header of doc.headers ?? []) {
    parameters.push({ $ref: `#/components/parameters/${header}` });
  }
  parameters.push({ $ref: '#/components/parameters/CorrelationId' });
  return parameters;
}

/** `{ requestBody }` of a route that takes a body, else nothing. */
function requestBodyOf(doc: RouteDoc): Pick<OpenApiOperation, 'requestBody'> {
  if (!doc.body) return {};
  return {
    requestBody: {
      required: doc.body.required,
      description: doc.body.description,
      content: {
        'application/json': {
          schema: { $ref: componentRef(doc.body.schema) },
          examples: doc.body.examples,
        },
      },
    },
  };
}

/** Every answer of a route, sorted by status. */
function responsesOf(
  doc: RouteDoc,
  { admin, open }: { readonly admin: boolean; readonly open: boolean },
): OpenApiOperation['responses'] {
  const responses: Record<string, OpenApiResponse | { $ref: string }> = {};
  for (const [status, answer] of Object.entries(doc.success)) {
    responses[status] = successAnswer(answer);
  }
  // Every route can meet a path the gateway routes but the function's router does
  // not match: an empty segment (`//orders`), or an id holding `%2F`.
  const failures: Readonly<Record<number, Failure>> = {
    404: ROUTE_NOT_FOUND,
    ...doc.failures,
  };
  for (const [status, failure] of Object.entries(failures)) {
    responses[status] = failureAnswer(Number(status), failure);
  }
  // The answers every route shares are components: `#/components/responses/...`.
  const common = (name: keyof typeof COMMON_RESPONSES) => ({
    $ref: `#/components/responses/${name}`,
  });
  responses['413'] = common('PayloadTooLarge');
  responses['429'] = common('Throttled');
  responses['500'] = common('Internal');
  if (doc.callsDependencies) responses['503'] = common('Unavailable');
  if (admin) responses['403'] = common('Forbidden');
  else if (!open) responses['401'] = common('Unauthorized');
  return Object.fromEntries(
    Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)),
  );
}

/** A success answer: its JSON body, its headers and its example. */
function successAnswer(answer: Success): OpenApiResponse {
  return {
    description: answer.description,
    headers: headerRefs(answer.headers),
    content: {
      'application/json': {
        schema: { $ref: componentRef(answer.schema) },
        ...(answer.example === undefined
          ? {}
          : {
              examples: {
                example: { summary: 'Example', value: answer.example },
              },
            }),
      },
    },
  };
}

const QUERY_DESCRIPTIONS: Readonly<Record<string, string>> = {
  status: 'Only letters in this status (then sorted newest first).',
  topic: 'Only letters whose original record was on this topic.',
  limit: 'At most this many letters (1-100; 25 when absent).',
  cursor: 'The `cursor` of the previous page.',
};

/** `POST /orders/{orderId}/cancel` -> `postOrdersOrderIdCancel`. */
function operationId(route: DocumentedRoute): string {
  const words = route
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words
    .map((word, index) =>
      index === 0 ? word : `${word[0]?.toUpperCase()}${word.slice(1)}`,
    )
    .join('');
}
