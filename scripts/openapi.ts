/**
 * `npm run openapi`: writes the OpenAPI 3.1 contract of the HTTP API to
 * docs/openapi.json, from infra/openapi.ts (the routes of infra/http-api.ts and the
 * zod schemas of the functions). The file is committed; a unit test fails when it
 * drifts from what this writes (docs/openapi.md).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '#platform/artifacts.ts';
import { parseCommandLine } from '#platform/command-line.ts';
import { renderOpenApiDocument } from '../infra/openapi.ts';

const USAGE = `usage: npm run openapi

Writes the OpenAPI 3.1 contract of the HTTP API to docs/openapi.json (then biome
formats it), from the route lists of infra/http-api.ts and the zod schemas of the
functions. Run it after changing a route, a request or response schema, or a problem
type, and commit the file: a unit test fails while it is out of date.
Locally, \`npm run dev\` serves it at /openapi.json and renders it at /_docs.

Options:
  -h, --help      print this and exit`;

parseCommandLine(USAGE, { options: {}, allowPositionals: false });

const file = join(REPO_ROOT, 'docs', 'openapi.json');
writeFileSync(file, renderOpenApiDocument());
// Formatted here rather than by a second command in package.json, so that
// `npm run openapi -- --help` reaches this script.
execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'biome'), [
  'format',
  '--write',
  file,
]);
console.log('docs/openapi.json');
