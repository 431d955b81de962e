/**
 * `npm run schemas`: writes JSON Schema (draft 2020-12) for every event type and the
 * envelope union to `schemas/`, from the zod contract in functions/domain/events.ts, so
 * that consumers in other languages validate against the same rules. The files are
 * committed; a unit test fails when they drift from the contract.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderSchemas } from './schemas.ts';

const outDir = resolve(import.meta.dirname, '..', 'schemas');
mkdirSync(outDir, { recursive: true });
for (const [file, text] of Object.entries(renderSchemas())) {
  writeFileSync(join(outDir, file), text);
  console.log(`schemas/${file}`);
}
