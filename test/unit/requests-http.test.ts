import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_ROUTES, ORDER_ROUTES } from '#infra/http-api.ts';
import {
  buildOpenApiDocument,
  type OpenApiOperation,
  REQUEST_SCHEMAS,
} from '#infra/openapi.ts';
import { matchRoute } from '../../local/runtime/http/routing.ts';

/** One request of an .http file, its variables replaced. */
interface FileRequest {
  readonly title: string;
  readonly expected: { readonly status: number; readonly slug?: string };
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What `{{$timestamp}}` stands for here (the clients send the current second). */
const TIMESTAMP = '1736935200';

/**
 * Reads an .http file as VS Code's REST Client and the JetBrains HTTP Client do:
 * `@name = value` variables, `###` between requests, `#` comments, the request line,
 * headers, a blank line, the body.
 */
function parseHttpFile(text: string): FileRequest[] {
  const [preamble = '', ...blocks] = text.split(/^###/m);
  const variables: Record<string, string> = { $timestamp: TIMESTAMP };
  for (const match of preamble.matchAll(/^@(\w+)\s*=\s*(.*)$/gm)) {
    variables[match[1] ?? ''] = (match[2] ?? '').trim();
  }
  const substitute = (line: string) =>
    line.replaceAll(/\{\{\s*([$\w]+)\s*\}\}/g, (_, name: string) => {
      const value = variables[name];
      if (value === undefined) throw new Error(`undefined variable ${name}`);
      return value;
    });
  return blocks.map((block) => {
    const lines = block.split('\n');
    const title = (lines.shift() ?? '').trim();
    let expected: FileRequest['expected'] | undefined;
    while (lines[0] !== undefined && /^(#|\/\/|\s*$)/.test(lines[0])) {
      const line = lines.shift() ?? '';
      const match = line.match(/^# expect: (\d{3})(?: ([a-z-]+))?/);
      if (match) {
        expected = {
          status: Number(match[1]),
          ...(match[2] ? { slug: match[2] } : {}),
        };
      }
    }
    const [method = '', url = ''] = substitute(lines.shift() ?? '').split(' ');
    const headers: Record<string, string> = {};
    for (let line = lines.shift(); line?.trim(); line = lines.shift()) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = substitute(
        line.slice(colon + 1).trim(),
      );
    }
    if (!expected) throw new Error(`"${title}" has no # expect: line`);
    return {
      title,
      expected,
      method,
      path: new URL(url).pathname,
      headers,
      body: substitute(lines.join('\n')).trim(),
    };
  });
}

const requests = parseHttpFile(
  readFileSync(join(import.meta.dirname, '..', '..', 'requests.http'), 'utf8'),
);
const ROUTES = [...ORDER_ROUTES, ...ADMIN_ROUTES].map((routeKey) => ({
  routeKey,
}));
const OPERATIONS = (() => {
  const document = buildOpenApiDocument();
  const found = new Map<string, OpenApiOperation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (operation) found.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
  return { document, found };
})();

/** The route key a request reaches, as API Gateway matches it. */
function routeOf(request: FileRequest): string | undefined {
  return matchRoute(ROUTES, request.method, request.path)?.route.routeKey;
}

describe('requests.http (a request for every route)', () => {
  it('sends a request to every route of ORDER_ROUTES and ADMIN_ROUTES', () => {
    // Act
    const reached = new Set(requests.map(routeOf));

    // Assess
    expect(requests.length).toBeGreaterThanOrEqual(20);
    for (const route of [...ORDER_ROUTES, ...ADMIN_ROUTES]) {
      expect(reached, route).toContain(route);
    }
    expect(reached).not.toContain(undefined);
  });

  it('expects only answers the OpenAPI document lists for the route', () => {
    for (const request of requests) {
      // Prepare
      const operation = OPERATIONS.found.get(routeOf(request) ?? '');
      const answer = operation?.responses[String(request.expected.status)];
      const resolved =
        answer && '$ref' in answer
          ? OPERATIONS.document.components.responses[
              answer.$ref.replace('#/components/responses/', '')
            ]
          : answer;

      // Assess
      expect(resolved, request.title).toBeDefined();
      if (request.expected.slug) {
        expect(JSON.stringify(resolved), request.title).toContain(
          `/problems/${request.expected.slug}`,
        );
      }
    }
  });

  it('has bodies the handlers’ zod schemas accept, except where it expects a refusal', () => {
    // Prepare
    let parsed = 0;

    for (const request of requests) {
      const operation = OPERATIONS.found.get(routeOf(request) ?? '');
      const media = operation?.requestBody?.content['application/json'];
      if (!media) {
        expect(request.body, request.title).toBe('');
        continue;
      }
      if (!request.body) {
        expect(operation?.requestBody?.required, request.title).toBe(false);
        continue;
      }
      const name = String((media.schema as { $ref: string }).$ref).replace(
        '#/components/schemas/',
        '',
      ) as keyof typeof REQUEST_SCHEMAS;

      // Act
      const json = request.headers['content-type'] === 'application/json';
      let value: unknown;
      let isJson = true;
      try {
        value = JSON.parse(request.body);
      } catch {
        isJson = false;
      }
      const valid = isJson && REQUEST_SCHEMAS[name].safeParse(value).success;

      // Assess
      switch (request.expected.slug) {
        case 'unsupported-media-type':
          expect(json, request.title).toBe(false);
          break;
        case 'invalid-json':
          expect({ json, isJson }, request.title).toEqual({
            json: true,
            isJson: false,
          });
          break;
        case 'validation':
          expect({ json, isJson, valid }, request.title).toEqual({
            json: true,
            isJson: true,
            valid: false,
          });
          break;
        default:
          expect(
            REQUEST_SCHEMAS[name].safeParse(value).error,
            request.title,
          ).toBeUndefined();
          expect(json, request.title).toBe(true);
          parsed += 1;
      }
    }
    expect(parsed).toBeGreaterThanOrEqual(12);
  });

  it('sends the admin token to every admin route, except to show the 403', () => {
    for (const request of requests) {
      // Prepare
      const admin = (ADMIN_ROUTES as readonly string[]).includes(
        routeOf(request) ?? '',
      );
      if (!admin) continue;

      // Assess
      expect(request.headers.authorization, request.title).toBe(
        request.expected.status === 403
          ? undefined
          : 'Bearer paste-the-admin-token-printed-by-npm-run-dev',
      );
    }
  });
});
