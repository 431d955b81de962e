/**
 * The types of the OpenAPI 3.1 document, as far as infra/openapi.ts writes it: the
 * document, its operations, parameters, media types, responses and servers.
 */
import type { ADMIN_ROUTES, ORDER_ROUTES } from '../http-api.ts';

/** A JSON Schema (2020-12) or any other JSON object of the document. */
export type JsonObject = { readonly [key: string]: unknown };

/** A route of the HTTP API, as `infra/http-api.ts` lists them. */
export type DocumentedRoute =
  | (typeof ORDER_ROUTES)[number]
  | (typeof ADMIN_ROUTES)[number];

/** A server of the document. */
export interface OpenApiServer {
  readonly url: string;
  readonly description?: string;
  readonly variables?: Readonly<
    Record<string, { readonly default: string; readonly description?: string }>
  >;
}

/** A parameter, inline or a `$ref` to `components.parameters`. */
export type OpenApiParameter =
  | { readonly $ref: string }
  | {
      readonly name: string;
      readonly in: 'path' | 'query' | 'header';
      readonly required: boolean;
      readonly description: string;
      readonly schema: JsonObject;
    };

/** One media type of a request body or a response. */
export interface OpenApiMediaType {
  readonly schema: JsonObject;
  readonly examples?: Readonly<
    Record<string, { readonly summary: string; readonly value: unknown }>
  >;
}

/** One response of an operation. */
export interface OpenApiResponse {
  readonly description: string;
  readonly headers?: Readonly<Record<string, { readonly $ref: string }>>;
  readonly content?: Readonly<Record<string, OpenApiMediaType>>;
}

/** One operation (a route). */
export interface OpenApiOperation {
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** `[]`: open; `[{}, { ordersJwt: [] }]`: open unless the stage configures JWT. */
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters: readonly OpenApiParameter[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly description: string;
    readonly content: Readonly<Record<string, OpenApiMediaType>>;
  };
  readonly responses: Readonly<
    Record<string, OpenApiResponse | { readonly $ref: string }>
  >;
}

/** The document, as far as this module writes it. */
export interface OpenApiDocument {
  readonly openapi: '3.1.1';
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly description: string;
    readonly license: { readonly name: string; readonly identifier: string };
  };
  readonly servers: readonly OpenApiServer[];
  readonly tags: readonly {
    readonly name: string;
    readonly description: string;
  }[];
  readonly paths: Readonly<
    Record<string, Readonly<Partial<Record<'get' | 'post', OpenApiOperation>>>>
  >;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonObject>>;
    readonly parameters: Readonly<Record<string, OpenApiParameter>>;
    readonly headers: Readonly<
      Record<
        string,
        { readonly description: string; readonly schema: JsonObject }
      >
    >;
    readonly responses: Readonly<Record<string, OpenApiResponse>>;
    readonly securitySchemes: Readonly<Record<string, JsonObject>>;
  };
}
