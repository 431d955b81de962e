/**
 * The filter language of event source mappings (docs/aws-kafka-esm.md, Filtering):
 * the Lambda/EventBridge pattern language, compiled once at start into predicates.
 */

import { isRecord } from '#commons/guards.ts';
import type { EsmRecord } from './records/kafka-event.ts';

/**
 * A filter pattern this emulator does not understand; refused at start rather than
 * silently matching wrong.
 *
 * @example
 * ```ts
 * err instanceof UnsupportedFilterPatternError;
 * ```
 */
export class UnsupportedFilterPatternError extends Error {
  constructor(pattern: string, reason: string) {
    super(`filter pattern ${pattern}: ${reason}`);
    this.name = 'UnsupportedFilterPatternError';
  }
}

/** A compiled filter: does the record pass? */
export type Filter = (record: EsmRecord) => boolean;

type Rule = (value: unknown) => boolean;

const NUMERIC: Readonly<Record<string, (a: number, b: number) => boolean>> = {
  '=': (a, b) => a === b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/**
 * docs/aws-kafka-esm.md, Filtering: the Lambda/EventBridge pattern language on the
 * record, `value` being the UTF-8 value, JSON-parsed when it is a JSON object or
 * array. When the value part of the pattern does not fit the value (JSON pattern on a
 * plain string, string pattern on JSON, non-UTF-8 bytes), only the other (metadata)
 * fields are matched, as AWS's table says. Operators: exact values, prefix,
 * suffix, equals-ignore-case, anything-but, exists, numeric, wildcard; anything else
 * is refused at start.
 */
export function compileFilter(text: string): Filter {
  const { value: valuePattern, ...metadata } = parsePattern(text);
  const matchMetadata = compileObject(metadata, text);
  const valueRules =
    valuePattern === undefined
      ? undefined
      : isRecord(valuePattern)
        ? { json: true, match: compileObject(valuePattern, text) }
        : { json: false, match: compileRules(valuePattern, text) };
  return (record) => {
    if (!matchMetadata(record)) return false;
    if (valueRules === undefined) return true;
    const decoded = decodeValueForFilter(record.value);
    if (decoded.kind === 'binary') return true;
    if (decoded.kind === 'absent') return valueRules.match(undefined);
    if (valueRules.json !== (decoded.kind === 'json')) return true;
    return valueRules.match(decoded.value);
  };
}

function decodeValueForFilter(
  base64: string | undefined,
):
  | { kind: 'absent' }
  | { kind: 'binary' }
  | { kind: 'json' | 'string'; value: unknown } {
  if (base64 === undefined) return { kind: 'absent' };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(
      Buffer.from(base64, 'base64'),
    );
  } catch {
    return { kind: 'binary' };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      return { kind: 'json', value: parsed };
    }
  } catch {
    // A plain string value.
  }
  return { kind: 'string', value: text };
}

/**
 * A filter pattern over a whole record, as a stream (DynamoDB) mapping applies it:
 * the same pattern language, no special casing of a value (docs/outbox.md).
 *
 * @throws {UnsupportedFilterPatternError} a filter uses an unsupported operator.
 */
export function compileRecordPattern(
  text: string,
): (record: unknown) => boolean {
  return compileObject(parsePattern(text), text);
}

/** A filter pattern's JSON object, or {@link UnsupportedFilterPatternError}. */
function parsePattern(text: string): Record<string, unknown> {
  let pattern: unknown;
  try {
    pattern = JSON.parse(text);
  } catch {
    throw new UnsupportedFilterPatternError(text, 'not JSON');
  }
  if (!isRecord(pattern)) {
    throw new UnsupportedFilterPatternError(text, 'not a JSON object');
  }
  return pattern;
}

function compileObject(
  pattern: Record<string, unknown>,
  text: string,
): (value: unknown) => boolean {
  const fields = Object.entries(pattern).map(([name, sub]) => {
    const match = isRecord(sub)
      ? compileObject(sub, text)
      : compileRules(sub, text);
    return (value: unknown) => match(isRecord(value) ? value[name] : undefined);
  });
  return (value) => fields.every((field) => field(value));
}

function compileRules(rules: unknown, text: string): Rule {
  if (!Array.isArray(rules)) {
    throw new UnsupportedFilterPatternError(text, 'a leaf must be a list');
  }
  const compiled = rules.map((rule) => compileRule(rule, text));
  return (value) => {
    // EventBridge: an array value matches when any element does.
    const candidates = Array.isArray(value) ? value : [value];
    return compiled.some((rule) =>
      rule.exists !== undefined
        ? rule.exists === (value !== undefined)
        : candidates.some((c) => c !== undefined && rule.test(c)),
    );
  };
}

function compileRule(
  rule: unknown,
  text: string,
): { exists?: boolean; test: Rule } {
  if (!isRecord(rule)) return { test: (v) => v === rule };
  const entries = Object.entries(rule);
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined) {
    throw new UnsupportedFilterPatternError(text, 'one operator per rule');
  }
  const [operator, operand] = entry;
  const str =
    (f: (v: string) => boolean): Rule =>
    (v) =>
      typeof v === 'string' && f(v);
  switch (operator) {
    case 'exists':
      return { exists: operand === true, test: () => true };
    case 'prefix':
      if (typeof operand !== 'string') break;
      return { test: str((v) => v.startsWith(operand)) };
    case 'suffix':
      if (typeof operand !== 'string') break;
      return { test: str((v) => v.endsWith(operand)) };
    case 'equals-ignore-case':
      if (typeof operand !== 'string') break;
      return {
        test: str((v) => v.toLowerCase() === operand.toLowerCase()),
      };
    case 'wildcard': {
      if (typeof operand !== 'string') break;
      const source = operand
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      const regex = new RegExp(`^${source}$`, 's');
      return { test: str((v) => regex.test(v)) };
    }
    case 'anything-but': {
      if (isRecord(operand)) {
        const inner = compileRule(operand, text);
        return { test: (v) => !inner.test(v) };
      }
      const excluded = Array.isArray(operand) ? operand : [operand];
      return { test: (v) => !excluded.includes(v) };
    }
    case 'numeric': {
      if (!Array.isArray(operand) || operand.length % 2 !== 0) break;
      const checks: ((v: number) => boolean)[] = [];
      for (let i = 0; i < operand.length; i += 2) {
        const compare = NUMERIC[String(operand[i])];
        const bound = operand[i + 1];
        if (compare === undefined || typeof bound !== 'number') {
          throw new UnsupportedFilterPatternError(text, 'bad numeric rule');
        }
        checks.push((v) => compare(v, bound));
      }
      return {
        test: (v) => typeof v === 'number' && checks.every((c) => c(v)),
      };
    }
  }
  throw new UnsupportedFilterPatternError(
    text,
    `unsupported operator ${operator}`,
  );
}
