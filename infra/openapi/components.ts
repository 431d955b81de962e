/**
 * The JSON Schemas of the document: `components.schemas` from the named zod schemas,
 * and a parameter's schema with `$ref`s to them.
 */
import * as z from 'zod';
import {
  REQUEST_SCHEMAS,
  RESPONSE_SCHEMAS,
  SHARED_SCHEMAS,
} from './body-schemas.ts';
import type { JsonObject } from './document-types.ts';

/**
 * A parameter's JSON Schema from zod, without `$schema`; a named schema inside it
 * becomes a `$ref` to `components.schemas`.
 */
export function jsonSchema(schema: z.ZodType): JsonObject {
  const {
    $schema: _dialect,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, {
    io: 'input',
    metadata: componentRegistry(),
  }) as JsonObject & { $defs?: Record<string, unknown> };
  for (const name of Object.keys($defs ?? {})) {
    if (!componentRegistry().has(schemaNamed(name))) {
      throw new Error(`parameter schema ${name} is not a component`);
    }
  }
  return JSON.parse(
    JSON.stringify(rest).replaceAll('"#/$defs/', '"#/components/schemas/'),
  ) as JsonObject;
}

function schemaNamed(name: string): z.ZodType {
  const all: Record<string, z.ZodType> = {
    ...Object.fromEntries(
      Object.entries(SHARED_SCHEMAS).map(([id, { schema }]) => [id, schema]),
    ),
    ...REQUEST_SCHEMAS,
    ...RESPONSE_SCHEMAS,
  };
  const schema = all[name];
  if (!schema) throw new Error(`no schema named ${name}`);
  return schema;
}

export function componentRef(name: string): string {
  return `#/components/schemas/${name}`;
}

let registry: z.core.$ZodRegistry<{ id: string; description?: string }>;

/** Every named schema: the shared ones, and every request and response body. */
function componentRegistry() {
  if (registry) return registry;
  registry = z.registry<{ id: string; description?: string }>();
  for (const [id, { schema, description }] of Object.entries(SHARED_SCHEMAS)) {
    registry.add(schema, { id, ...(description ? { description } : {}) });
  }
  for (const [id, schema] of Object.entries({
    ...REQUEST_SCHEMAS,
    ...RESPONSE_SCHEMAS,
  })) {
    registry.add(schema, { id });
  }
  return registry;
}

/**
 * `components.schemas`: what a client sends (request bodies, and the schemas they and
 * the parameters refer to) read with `io: 'input'`, responses as they are sent
 * (`io: 'output'`: a zod object drops unknown keys, so its output has
 * `additionalProperties: false`). A schema on both sides must read the same both
 * ways, or this throws: it would need a name for each.
 */
export function componentSchemas(): Record<string, JsonObject> {
  const convert = (io: 'input' | 'output') =>
    z.toJSONSchema(componentRegistry(), {
      io,
      uri: componentRef,
      metadata: componentRegistry(),
    }).schemas as Record<string, JsonObject>;
  const input = convert('input');
  const output = convert('output');
  const sent = referencedFrom(input, [
    ...Object.keys(REQUEST_SCHEMAS),
    ...PARAMETER_COMPONENTS,
  ]);
  const answered = referencedFrom(output, Object.keys(RESPONSE_SCHEMAS));
  const schemas: Record<string, JsonObject> = {};
  for (const name of Object.keys(input).sort()) {
    if (
      sent.has(name) &&
      answered.has(name) &&
      JSON.stringify(input[name]) !== JSON.stringify(output[name])
    ) {
      throw new Error(
        `schema ${name} differs as input and as output: give each its own name`,
      );
    }
    const chosen = sent.has(name) ? input[name] : output[name];
    if (!chosen) throw new Error(`no JSON Schema for ${name}`);
    const { $schema: _dialect, $id: _id, ...rest } = chosen;
    schemas[name] = rest;
  }
  return schemas;
}

/** The named schemas of the parameters (path and query). */
const PARAMETER_COMPONENTS = ['OrderId', 'DeadLetterId', 'DeadLetterStatus'];

/** The names `roots` refer to, themselves included, through `$ref`s. */
function referencedFrom(
  schemas: Readonly<Record<string, JsonObject>>,
  roots: readonly string[],
): Set<string> {
  const seen = new Set<string>();
  const pending = [...roots];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const text = JSON.stringify(schemas[name] ?? {});
    for (const match of text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      if (match[1]) pending.push(match[1]);
    }
  }
  return seen;
}
