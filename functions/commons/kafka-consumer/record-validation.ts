/**
 * A record's value, decoded once and then validated: UTF-8 JSON, then the
 * consumer's schema. A value that fails either is poison (./errors.ts).
 */
import * as z from 'zod';
import { messageOf } from '#commons/guards.ts';
import type { SafeParser } from '#domain/fast-accept.ts';
import { decodeValueText, type MskRecord } from '../msk-event.ts';
import {
  NotJsonRecordError,
  SchemaMismatchRecordError,
  TombstoneRecordError,
} from './errors.ts';

/** A record's value as decoded: no value, JSON, or bytes that are not JSON. */
export type Parsed =
  | { kind: 'tombstone' }
  | { kind: 'json'; value: unknown }
  | { kind: 'not-json'; error: unknown };

/** Decodes a record's value and parses it as JSON; never throws. */
export function parse(record: MskRecord): Parsed {
  try {
    const text = decodeValueText(record);
    if (text === null) return { kind: 'tombstone' };
    return { kind: 'json', value: JSON.parse(text) };
  } catch (error) {
    return { kind: 'not-json', error };
  }
}

/**
 * The value the schema makes of a parsed record; throws the poison error that
 * says why there is none.
 */
export function validate<T>(parsed: Parsed, schema: SafeParser<T>): T {
  switch (parsed.kind) {
    case 'tombstone':
      throw new TombstoneRecordError('record has no value (tombstone)');
    case 'not-json':
      throw new NotJsonRecordError(
        `record value is not UTF-8 JSON: ${messageOf(parsed.error)}`,
        { cause: parsed.error },
      );
    case 'json': {
      const result = schema.safeParse(parsed.value);
      if (result.success) return result.data;
      throw new SchemaMismatchRecordError(
        `record value fails the schema: ${z.prettifyError(result.error)}`,
        { cause: result.error },
      );
    }
  }
}
