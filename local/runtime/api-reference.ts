/**
 * The pages the local HTTP API serves beside the template's routes (docs/openapi.md):
 * `GET /openapi.json`, the OpenAPI contract with `servers` set to the local URL, and
 * `GET /_docs`, a reference page rendered from it on the server: one self-contained
 * HTML file (no script, no CDN, nothing fetched) listing each route, its
 * authorization, parameters, request body with examples, and responses with their
 * statuses, problem types and headers, then every schema.
 */
import {
  buildOpenApiDocument,
  type JsonObject,
  type OpenApiDocument,
  type OpenApiMediaType,
  type OpenApiOperation,
  type OpenApiParameter,
  type OpenApiResponse,
} from '#infra/openapi.ts';
import type { LocalPage } from './http/local-apps.ts';

/**
 * `GET /openapi.json` and `GET /_docs` for a local HTTP API; each is built once, on
 * its first request.
 *
 * @example
 * ```ts
 * const api = await startHttpApi({ routes, functions, adminToken, pages: apiReferencePages() });
 * await fetch(`${api.url}/_docs`);
 * ```
 */
export function apiReferencePages(): LocalPage[] {
  let document: OpenApiDocument | undefined;
  const documentFor = (url: string) => {
    document ??= buildOpenApiDocument({
      servers: [{ url, description: '`npm run dev`: this local HTTP API' }],
    });
    return document;
  };
  let json: string | undefined;
  let html: string | undefined;
  return [
    {
      path: '/openapi.json',
      contentType: 'application/json',
      render: (url) => {
        json ??= JSON.stringify(documentFor(url), null, 2);
        return json;
      },
    },
    {
      path: '/_docs',
      contentType: 'text/html; charset=utf-8',
      render: (url) => {
        html ??= renderApiReference(documentFor(url));
        return html;
      },
    },
  ];
}

/**
 * The reference page of an OpenAPI document, as one HTML file.
 *
 * @example
 * ```ts
 * writeFileSync('api.html', renderApiReference(buildOpenApiDocument()));
 * ```
 */
export function renderApiReference(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    (['get', 'post'] as const).flatMap((method) => {
      const operation = item[method];
      return operation ? [{ method, path, operation }] : [];
    }),
  );
  const contents = document.tags.map(
    (tag) =>
      `<li>${escapeHtml(tag.name)}<ul>${operations
        .filter(({ operation }) => operation.tags.includes(tag.name))
        .map(
          ({ method, path, operation }) =>
            `<li><a href="#${anchor(operation.operationId)}"><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></a> ${escapeHtml(operation.summary)}</li>`,
        )
        .join('')}</ul></li>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} ${escapeHtml(document.info.version)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(document.info.title)} <small>${escapeHtml(document.info.version)}, OpenAPI ${escapeHtml(document.openapi)}</small></h1>
${markdown(document.info.description)}
<p>Servers: ${document.servers.map((server) => `<code>${escapeHtml(server.url)}</code>${server.description ? ` (${inline(server.description)})` : ''}`).join('; ')}. The contract as JSON: <a href="/openapi.json"><code>/openapi.json</code></a>.</p>
</header>
<nav><h2>Routes</h2><ul>${contents.join('')}</ul></nav>
<main>
<section><h2>Authorization</h2><dl>${Object.entries(
    document.components.securitySchemes,
  )
    .map(
      ([name, scheme]) =>
        `<dt id="security-${anchor(name)}"><code>${escapeHtml(name)}</code></dt><dd>${inline(String(scheme.description ?? ''))}</dd>`,
    )
    .join('')}</dl></section>
${operations.map(({ method, path, operation }) => renderOperation(document, method, path, operation)).join('\n')}
<section><h2>Schemas</h2>
${Object.entries(document.components.schemas)
  .map(
    ([name, schema]) =>
      `<details id="schema-${anchor(name)}"><summary><code>${escapeHtml(name)}</code>${schema.description ? ` ${inline(String(schema.description))}` : ''}</summary><pre>${jsonWithLinks(schema)}</pre></details>`,
  )
  .join('\n')}
</section>
</main>
</body>
</html>
`;
}

function renderOperation(
  document: OpenApiDocument,
  method: 'get' | 'post',
  path: string,
  operation: OpenApiOperation,
): string {
  const parameters = operation.parameters.map((parameter) =>
    resolveParameter(document, parameter),
  );
  const body = operation.requestBody;
  return `<section class="operation" id="${anchor(operation.operationId)}">
<h2><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> <small>${escapeHtml(operation.summary)}</small></h2>
${markdown(operation.description)}
<p class="security"><strong>Authorization:</strong> ${securityText(operation)}</p>
${
  parameters.length > 0
    ? `<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>schema</th><th></th></tr>${parameters
        .map(
          (parameter) =>
            `<tr><td><code>${escapeHtml(parameter.name)}</code>${parameter.required ? ' <em>required</em>' : ''}</td><td>${escapeHtml(parameter.in)}</td><td>${schemaSummary(parameter.schema)}</td><td>${inline(parameter.description)}</td></tr>`,
        )
        .join('')}</table>`
    : ''
}
${
  body
    ? `<h3>Request body${body.required ? ' <em>required</em>' : ' <em>optional</em>'}</h3><p>${inline(body.description)}</p>${Object.entries(
        body.content,
      )
        .map(([type, media]) => renderMedia(type, media))
        .join('')}`
    : ''
}
<h3>Responses</h3>
<table><tr><th>status</th><th></th><th>body</th><th>headers</th></tr>${Object.entries(
    operation.responses,
  )
    .map(([status, answer]) => {
      const response = resolveResponse(document, answer);
      return `<tr><td class="status s${status[0]}">${escapeHtml(status)}</td><td>${markdown(response.description)}</td><td>${Object.entries(
        response.content ?? {},
      )
        .map(
          ([type, media]) =>
            `<code>${escapeHtml(type)}</code> ${schemaSummary(media.schema)}${examples(media)}`,
        )
        .join('<br>')}</td><td>${Object.keys(response.headers ?? {})
        .map((name) => `<code>${escapeHtml(name)}</code>`)
        .join(' ')}</td></tr>`;
    })
    .join('')}</table>
</section>`;
}

function renderMedia(type: string, media: OpenApiMediaType): string {
  return `<p><code>${escapeHtml(type)}</code> ${schemaSummary(media.schema)}</p>${Object.entries(
    media.examples ?? {},
  )
    .map(
      ([name, example], index) =>
        `<details${index === 0 ? ' open' : ''}><summary>Example <code>${escapeHtml(name)}</code>: ${inline(example.summary)}</summary><pre>${escapeHtml(JSON.stringify(example.value, null, 2))}</pre></details>`,
    )
    .join('')}`;
}

function examples(media: OpenApiMediaType): string {
  return Object.values(media.examples ?? {})
    .map(
      (example) =>
        `<details><summary>${inline(example.summary)}</summary><pre>${escapeHtml(JSON.stringify(example.value, null, 2))}</pre></details>`,
    )
    .join('');
}

function securityText(operation: OpenApiOperation): string {
  if (operation.security.length === 0) return 'none (always open)';
  const names = operation.security.map((requirement) =>
    Object.keys(requirement),
  );
  const link = (name: string) =>
    `<a href="#security-${anchor(name)}"><code>${escapeHtml(name)}</code></a>`;
  if (names.some((requirement) => requirement.length === 0)) {
    const others = names.flat();
    return `none, or ${others.map(link).join(', ')} when the stage configures it`;
  }
  return names
    .map((requirement) => requirement.map(link).join(' + '))
    .join(' or ');
}

type InlineParameter = Exclude<OpenApiParameter, { readonly $ref: string }>;

function resolveParameter(
  document: OpenApiDocument,
  parameter: OpenApiParameter,
): InlineParameter {
  if (!('$ref' in parameter)) return parameter;
  const name = parameter.$ref.replace('#/components/parameters/', '');
  const found = document.components.parameters[name];
  if (!found || '$ref' in found) throw new Error(`no parameter ${name}`);
  return found;
}

function resolveResponse(
  document: OpenApiDocument,
  answer: OpenApiResponse | { readonly $ref: string },
): OpenApiResponse {
  if (!('$ref' in answer)) return answer;
  const name = answer.$ref.replace('#/components/responses/', '');
  const found = document.components.responses[name];
  if (!found) throw new Error(`no response ${name}`);
  return found;
}

/** A schema in a few words: its component, problem types, enum or type. */
function schemaSummary(schema: JsonObject): string {
  if (typeof schema.$ref === 'string') return schemaLink(schema.$ref);
  if (Array.isArray(schema.allOf)) {
    return (schema.allOf as JsonObject[])
      .map((part) => {
        if (typeof part.$ref === 'string') return schemaLink(part.$ref);
        const type = (part.properties as JsonObject | undefined)?.type as
          | JsonObject
          | undefined;
        return Array.isArray(type?.enum)
          ? `type ${(type.enum as string[]).map((value) => `<code>${escapeHtml(value)}</code>`).join(', ')}`
          : '';
      })
      .filter(Boolean)
      .join(', ');
  }
  const parts: string[] = [];
  if (Array.isArray(schema.enum)) {
    parts.push(
      (schema.enum as unknown[])
        .map((value) => `<code>${escapeHtml(String(value))}</code>`)
        .join(' | '),
    );
  } else if (schema.type !== undefined) {
    parts.push(escapeHtml(String(schema.type)));
  }
  for (const key of [
    'minimum',
    'maximum',
    'minLength',
    'maxLength',
    'default',
  ]) {
    if (schema[key] !== undefined) {
      parts.push(`${key} ${escapeHtml(String(schema[key]))}`);
    }
  }
  return parts.join(', ');
}

function schemaLink(ref: string): string {
  const name = ref.replace('#/components/schemas/', '');
  return `<a href="#schema-${anchor(name)}"><code>${escapeHtml(name)}</code></a>`;
}

/** Pretty JSON, escaped, with every schema `$ref` a link. */
function jsonWithLinks(value: unknown): string {
  return escapeHtml(JSON.stringify(value, null, 2)).replaceAll(
    /&quot;#\/components\/schemas\/([A-Za-z0-9_]+)&quot;/g,
    (_, name: string) =>
      `&quot;<a href="#schema-${anchor(name)}">#/components/schemas/${name}</a>&quot;`,
  );
}

/** The little Markdown the document uses: paragraphs, `- ` lists, `code`, **bold**. */
function markdown(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((block) => {
      const lines = block.split('\n');
      const items = lines.filter((line) => line.startsWith('- '));
      const prose = lines.filter((line) => !line.startsWith('- ')).join(' ');
      return `${prose ? `<p>${inline(prose)}</p>` : ''}${
        items.length > 0
          ? `<ul>${items.map((item) => `<li>${inline(item.slice(2))}</li>`).join('')}</ul>`
          : ''
      }`;
    })
    .join('');
}

function inline(text: string): string {
  return escapeHtml(text)
    .replaceAll(/`([^`]+)`/g, '<code>$1</code>')
    .replaceAll(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

function anchor(name: string): string {
  return name.replaceAll(/[^A-Za-z0-9_-]/g, '-');
}

/** Text made safe inside HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 1rem 2rem; color: #1d2330; }
h1 small, h2 small { font-weight: normal; color: #5a6270; font-size: 0.7em; }
code, pre { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
code { background: #f2f4f7; padding: 0 0.25em; border-radius: 3px; }
pre { background: #f6f8fa; padding: 0.75rem; overflow-x: auto; border-radius: 4px; }
pre code { background: none; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1rem; }
th, td { border-top: 1px solid #dde1e6; padding: 0.4rem 0.5rem; text-align: left; vertical-align: top; }
td p { margin: 0 0 0.25rem; } td ul { margin: 0; padding-left: 1.2rem; }
.operation { border-top: 2px solid #c8ced6; margin-top: 2rem; }
.method { display: inline-block; min-width: 3.2rem; text-align: center; border-radius: 3px; color: #fff; font-size: 0.8em; padding: 0 0.3rem; }
.method.get { background: #2f6fb3; } .method.post { background: #2e8b57; }
.status { font-weight: bold; } .s2 { color: #2e8b57; } .s4 { color: #b36b00; } .s5 { color: #b3261e; }
nav ul { list-style: none; padding-left: 1rem; } nav a { text-decoration: none; }
details summary { cursor: pointer; }
`;
