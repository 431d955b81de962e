import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { ADMIN_ROUTES, ORDER_ROUTES } from '#infra/http-api.ts';
import {
  buildOpenApiDocument,
  type OpenApiDocument,
  type OpenApiOperation,
  PROBLEM_TYPES,
  REQUEST_SCHEMAS,
  RESPONSE_SCHEMAS,
  renderOpenApiDocument,
} from '#infra/openapi.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** Every operation of the document, by route key (`POST /orders`). */
function operations(document: OpenApiDocument): Map<string, OpenApiOperation> {
  const found = new Map<string, OpenApiOperation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (operation) found.set(`${method.toUpperCase()} ${path}`, operation);
    }
  }
  return found;
}

/** The component name of a `{ $ref: '#/components/schemas/X' }`. */
function refName(schema: unknown): string {
  const ref = (schema as { $ref?: string }).$ref ?? '';
  return ref.replace('#/components/schemas/', '');
}

describe('docs/openapi.json (the OpenAPI contract of the HTTP API)', () => {
  it('is current: run `npm run openapi` after changing a route, a schema or a problem type', () => {
    // Prepare
    const expected = JSON.parse(renderOpenApiDocument());

    // Act
    const committed = JSON.parse(
      readFileSync(join(ROOT, 'docs', 'openapi.json'), 'utf8'),
    );

    // Assess
    expect(committed).toEqual(expected);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    // Prepare
    const validator = new Validator();

    // Act
    const result = await validator.validate(
      JSON.parse(renderOpenApiDocument()),
    );

    // Assess
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('refuses a broken document (the validation can fail)', async () => {
    // Prepare: a response without its required description.
    const document = JSON.parse(renderOpenApiDocument());
    delete document.paths['/orders'].post.responses['201'].description;

    // Act
    const result = await new Validator().validate(document);

    // Assess
    expect(result.valid).toBe(false);
  });

  it('documents exactly the routes of ORDER_ROUTES and ADMIN_ROUTES', () => {
    // Act
    const documented = [...operations(buildOpenApiDocument()).keys()];

    // Assess
    expect(documented.sort()).toEqual(
      [...ORDER_ROUTES, ...ADMIN_ROUTES].sort(),
    );
  });

  it('secures the admin routes with SigV4, leaves health open, JWT optional on orders', () => {
    // Act
    const found = operations(buildOpenApiDocument());

    // Assess
    for (const route of ADMIN_ROUTES) {
      expect(found.get(route)?.security, route).toEqual([{ awsSigv4: [] }]);
    }
    expect(found.get('GET /health/ready')?.security).toEqual([]);
    expect(found.get('POST /orders')?.security).toEqual([
      {},
      { ordersJwt: [] },
    ]);
  });

  it('has request body examples that the handlers’ zod schemas accept', () => {
    // Prepare
    let checked = 0;

    // Act / Assess
    for (const [route, operation] of operations(buildOpenApiDocument())) {
      const media = operation.requestBody?.content['application/json'];
      if (!media) continue;
      const name = refName(media.schema) as keyof typeof REQUEST_SCHEMAS;
      const schema = REQUEST_SCHEMAS[name];
      expect(schema, `${route}: ${name}`).toBeDefined();
      for (const [example, { value }] of Object.entries(media.examples ?? {})) {
        const result = schema.safeParse(value);
        expect(result.error, `${route} example ${example}`).toBeUndefined();
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('has response examples that the response schemas accept', () => {
    // Prepare
    let checked = 0;

    // Act / Assess
    for (const [route, operation] of operations(buildOpenApiDocument())) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if ('$ref' in response) continue;
        const media = response.content?.['application/json'];
        if (!media?.examples) continue;
        const name = refName(media.schema) as keyof typeof RESPONSE_SCHEMAS;
        for (const { value } of Object.values(media.examples)) {
          const result = RESPONSE_SCHEMAS[name].safeParse(value);
          expect(result.error, `${route} ${status}`).toBeUndefined();
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('stays out of the Lambda bundles: no function imports the generator', () => {
    // Prepare
    const sources = readdirSync(join(ROOT, 'functions'), {
      recursive: true,
      encoding: 'utf8',
    }).filter((file) => file.endsWith('.ts'));

    // Act
    const importers = sources.filter((file) =>
      /from '[^']*openapi(\.ts)?'/.test(
        readFileSync(join(ROOT, 'functions', file), 'utf8'),
      ),
    );

    // Assess
    expect(sources.length).toBeGreaterThan(10);
    expect(importers).toEqual([]);
  });

  it('lists every problem type the functions answer, with its status', () => {
    // Prepare: every `new ProblemError(<status>, '<slug>'` in functions/.
    const thrown = new Set<string>();
    const sources = readdirSync(join(ROOT, 'functions'), {
      recursive: true,
      encoding: 'utf8',
    }).filter((file) => file.endsWith('.ts'));
    for (const file of sources) {
      const text = readFileSync(join(ROOT, 'functions', file), 'utf8');
      for (const match of text.matchAll(
        /new ProblemError\(\s*(\d{3}),\s*'([a-z-]+)'/g,
      )) {
        thrown.add(`${match[1]} ${match[2]}`);
      }
    }
    const answered = problemAnswers(buildOpenApiDocument());

    // Assess
    expect(thrown.size).toBeGreaterThanOrEqual(12);
    for (const pair of thrown) {
      const slug = pair.split(' ')[1] ?? '';
      expect(Object.keys(PROBLEM_TYPES), pair).toContain(slug);
      expect(answered, pair).toContain(pair);
    }
  });
});

/** Every `<status> <slug>` some route of the document answers. */
function problemAnswers(document: OpenApiDocument): Set<string> {
  const answers = new Set<string>();
  for (const operation of operations(document).values()) {
    for (const answer of Object.values(operation.responses)) {
      const response =
        '$ref' in answer
          ? document.components.responses[
              answer.$ref.replace('#/components/responses/', '')
            ]
          : answer;
      const schema = response?.content?.['application/problem+json']?.schema as
        | {
            allOf?: {
              properties?: {
                type?: { enum?: string[] };
                status?: { const?: number };
              };
            }[];
          }
        | undefined;
      const properties = schema?.allOf?.[1]?.properties;
      for (const type of properties?.type?.enum ?? []) {
        answers.add(
          `${properties?.status?.const} ${type.replace('/problems/', '')}`,
        );
      }
    }
  }
  return answers;
}
