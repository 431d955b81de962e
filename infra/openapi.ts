/**
 * The OpenAPI 3.1 contract of the HTTP API (docs/openapi.md), built from what the
 * system already says: the routes of `infra/http-api.ts`, the zod schemas the handlers
 * parse and answer with (JSON Schema 2020-12 through `z.toJSONSchema`, the dialect of
 * OpenAPI 3.1), and the problem types of `functions/commons/http.ts` and the handlers.
 * `npm run openapi` writes it to docs/openapi.json; the local HTTP API serves it at
 * `/openapi.json` and renders it at `/_docs`. No function imports this module, so
 * nothing of it reaches a Lambda bundle.
 */
import packageJson from '../package.json' with { type: 'json' };
import { ADMIN_ROUTES, ORDER_ROUTES } from './http-api.ts';
import { componentSchemas } from './openapi/components.ts';
import type {
  OpenApiDocument,
  OpenApiOperation,
  OpenApiServer,
} from './openapi/document-types.ts';
import { operation } from './openapi/operations.ts';
import { COMMON_RESPONSES } from './openapi/responses.ts';

export {
  GatewayError,
  REQUEST_SCHEMAS,
  RESPONSE_SCHEMAS,
} from './openapi/body-schemas.ts';
export type {
  DocumentedRoute,
  JsonObject,
  OpenApiDocument,
  OpenApiMediaType,
  OpenApiOperation,
  OpenApiParameter,
  OpenApiResponse,
  OpenApiServer,
} from './openapi/document-types.ts';
export { ORDER_EXAMPLES } from './openapi/examples.ts';
export { PROBLEM_TYPES, type ProblemSlug } from './openapi/problem-types.ts';

/** The servers of the committed document: `npm run dev`, and the stack on AWS. */
export const DEFAULT_SERVERS: readonly OpenApiServer[] = [
  {
    url: 'http://127.0.0.1:3000',
    description:
      '`npm run dev`: the local HTTP API (admin routes take `Authorization: Bearer <admin token printed at start>`)',
  },
  {
    url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
    description: 'AWS: the `ApiUrl` output of the stack (the `$default` stage)',
    variables: {
      apiId: { default: 'abcde12345', description: 'the HTTP API id' },
      region: { default: 'us-east-1', description: 'the stack’s region' },
    },
  },
];

const TAGS = [
  {
    name: 'orders',
    description:
      'Place, read and cancel orders (docs/domain.md section 4). Open, or behind a JWT authorizer when the stage sets `api.jwt`.',
  },
  {
    name: 'health',
    description: 'Probes: always open.',
  },
  {
    name: 'dead-letters',
    description:
      'The operators’ routes over stored dead letters (docs/domain.md section 7): IAM (SigV4) on AWS, a bearer token locally.',
  },
];

const DESCRIPTION = `Orders, payments and dead-letter reprocessing on AWS Lambda, with Kafka (Amazon MSK) between the functions. This is the contract of the API Gateway HTTP API (payload format 2.0) in front of the order function and the dead-letter reprocessor, generated from the zod schemas the functions use (docs/openapi.md).

**Money is a promise.** A \`2xx\` means the effect will happen whatever fails afterwards; a \`503\` means nothing happened and nothing will, so the request may be sent again (with the same \`Idempotency-Key\` for \`POST /orders\`). No request, however malformed, is answered \`5xx\` except \`503\` for a dependency that is down.

**Errors** from the functions are \`application/problem+json\` (RFC 9457): \`type\` is \`/problems/<slug>\`, stable; each route lists the types it can answer. Any request with a body over 64 KiB is \`413 payload-too-large\`. API Gateway itself answers some requests before a function sees them, with a JSON \`{"message": ...}\` body: \`403\` (admin routes, unsigned), \`401\` (JWT routes, no or a bad token), \`404\` (no such route), \`413\` (over 10 MB), \`429\` (throttled) and \`503\` (the function took more than 30 s).

**Correlation:** send \`x-correlation-id\` (1-256 printable ASCII characters) to follow a request through the logs and Kafka headers; every answer of a function carries it back (the request id when none was sent).`;

/**
 * Builds the OpenAPI 3.1 document of the HTTP API: every route of
 * `ORDER_ROUTES` and `ADMIN_ROUTES`, in that order.
 *
 * @example
 * ```ts
 * const document = buildOpenApiDocument({ servers: [{ url: 'http://127.0.0.1:3000' }] });
 * document.paths['/orders']?.post?.responses['201'];
 * ```
 */
export function buildOpenApiDocument(
  options: { readonly servers?: readonly OpenApiServer[] } = {},
): OpenApiDocument {
  const paths: Record<
    string,
    Partial<Record<'get' | 'post', OpenApiOperation>>
  > = {};
  for (const route of [...ORDER_ROUTES, ...ADMIN_ROUTES]) {
    const [method, path = ''] = route.split(' ');
    const key = method === 'GET' ? 'get' : 'post';
    paths[path] = { ...paths[path], [key]: operation(route) };
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Kafka orders HTTP API',
      version: packageJson.version,
      description: DESCRIPTION,
      license: { name: 'MIT-0', identifier: 'MIT-0' },
    },
    servers: options.servers ?? DEFAULT_SERVERS,
    tags: TAGS,
    paths,
    components: {
      schemas: componentSchemas(),
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes a retry safe: for 24 h, a request with the same key and body gets the first answer again, without placing a second order; with another body it is `422 idempotency-key-reused`, and while the first is still being answered `409 idempotency-in-progress`.',
          schema: { type: 'string', minLength: 1 },
        },
        CorrelationId: {
          name: 'x-correlation-id',
          in: 'header',
          required: false,
          description:
            'Follows the request through the logs and the Kafka headers of the events it causes: 1-256 printable ASCII characters (anything else is replaced by the request id).',
          schema: { type: 'string', minLength: 1, maxLength: 256 },
        },
      },
      responses: COMMON_RESPONSES,
      headers: {
        CorrelationId: {
          description:
            'The request’s correlation id: the `x-correlation-id` sent, or the API Gateway request id.',
          schema: { type: 'string' },
        },
        RetryAfter: {
          description: 'Seconds to wait before sending the request again.',
          schema: { type: 'integer', minimum: 0 },
        },
        Location: {
          description: 'The placed order: `/orders/{orderId}`.',
          schema: { type: 'string' },
        },
      },
      securitySchemes: {
        awsSigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
          description:
            'On AWS: AWS IAM, a SigV4-signed request from a principal allowed `execute-api:Invoke` on the route (e.g. `awscurl --service execute-api`). Locally (`npm run dev`): `Authorization: Bearer <admin token printed at start>`.',
        },
        ordersJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'Only when the stage configures `api.jwt` (issuer and audience, infra/config.ts): a JWT the API Gateway JWT authorizer accepts. Otherwise the order routes are open. Locally the token is required but not verified.',
        },
      },
    },
  };
}

/**
 * The document as `docs/openapi.json` holds it (before biome formats it): JSON with
 * two-space indentation and a final newline.
 *
 * @example
 * ```ts
 * writeFileSync('docs/openapi.json', renderOpenApiDocument());
 * ```
 */
export function renderOpenApiDocument(
  document: OpenApiDocument = buildOpenApiDocument(),
): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
