/**
 * The records `npm run platform -- produce` reads and `tail` prints, as pure functions:
 * a command line's or a stdin line's record, a consumed message decoded, and its two
 * printed forms (text for a person, one JSON object a line for a script). The Kafka
 * side is in topic-io.ts and topic-tail.ts; the formats are described in
 * docs/local-platform-cli.md.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import * as z from 'zod';
import { PlatformError } from './errors.ts';

/** Header values by name; a name given more than once keeps every value, in order. */
export type RecordHeaders = Record<string, string | string[]>;

/** A record to produce: null key (the partitioner picks), null value (a tombstone). */
export interface OutgoingRecord {
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: RecordHeaders;
}

/** A consumed record, decoded: key, value and headers as UTF-8 text. */
export interface TailedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** The record's timestamp, ISO 8601 in UTC. */
  readonly timestamp: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: RecordHeaders;
}

/** How `produce` reads stdin: each line is a value, or a JSON record. */
export type LineFormat = 'text' | 'json-lines';

/**
 * One `--json-lines` line. `value` is required (null for a tombstone); a value that is
 * not a string is sent as its JSON text. Other fields, such as those `tail --json`
 * prints, are ignored, so that `tail --json` output can be produced again.
 */
export const RecordLine = z.object({
  key: z.string().nullable().optional(),
  // The line was parsed as JSON, so any value it holds is JSON; only its absence is
  // a mistake.
  value: z
    .unknown()
    .refine(
      (value) => value !== undefined,
      'missing ("value": null is a tombstone)',
    ),
  headers: z
    .record(z.string(), z.union([z.string(), z.array(z.string())]))
    .optional(),
});

/**
 * Adds one `--header NAME=VALUE` to `headers` (a name given twice keeps both values).
 * The value is everything after the first '=', and may be empty.
 *
 * @example
 * ```ts
 * parseHeaders(['event-type=OrderPlaced', 'trace=a=b']);
 * // { 'event-type': 'OrderPlaced', trace: 'a=b' }
 * ```
 */
export function parseHeaders(raw: readonly string[]): RecordHeaders {
  const headers: [string, string][] = [];
  for (const entry of raw) {
    const equals = entry.indexOf('=');
    if (equals <= 0) {
      throw new PlatformError(
        `--header ${entry}: expected NAME=VALUE`,
        "write it as '--header event-type=OrderPlaced' (the value may be empty)",
      );
    }
    headers.push([entry.slice(0, equals), entry.slice(equals + 1)]);
  }
  return collectHeaders(headers);
}

/** Headers from (name, value) pairs, in order; a name seen twice keeps both values. */
function collectHeaders(pairs: Iterable<[string, string]>): RecordHeaders {
  const byName = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    byName.set(name, [...(byName.get(name) ?? []), value]);
  }
  // fromEntries defines own properties: a header named __proto__ stays a header.
  return Object.fromEntries(
    [...byName].map(([name, values]) => [
      name,
      values.length === 1 ? (values[0] as string) : values,
    ]),
  );
}

/** A record's headers as (name, value) pairs, one a value. */
function headerPairs(headers: RecordHeaders): [string, string][] {
  return Object.entries(headers).flatMap(([name, values]) =>
    [values].flat().map((value): [string, string] => [name, value]),
  );
}

/**
 * A whole number in [0, 2^31) from an option: `--partition`, `--max`.
 *
 * @example
 * ```ts
 * parseCount('3', '--max'); // 3
 * ```
 */
export function parseCount(raw: string, option: string, min = 0): number {
  const count = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(count) || count < min || count >= 2 ** 31) {
    throw new PlatformError(
      `${option} ${raw}: expected a whole number${min > 0 ? ` from ${min}` : ''}`,
      `write it as '${option} ${Math.max(min, 1)}'`,
    );
  }
  return count;
}

/**
 * The record one stdin line stands for, or undefined for a blank line (skipped).
 * In text format the line is the value; in JSON-lines format it is a
 * {@link RecordLine}. `defaults` (from `--key`, `--header`) apply to every line; a
 * JSON line's own key replaces the default, and its headers are added to the
 * defaults.
 *
 * @example
 * ```ts
 * parseRecordLine('{"key":"o-1","value":{"total":5}}', 'json-lines', 3, defaults);
 * // { key: 'o-1', value: '{"total":5}', headers: {} }
 * ```
 */
export function parseRecordLine(
  line: string,
  format: LineFormat,
  lineNumber: number,
  defaults: OutgoingRecord,
): OutgoingRecord | undefined {
  if (line.trim() === '') return undefined;
  if (format === 'text') return { ...defaults, value: line };
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    throw lineError(lineNumber, `not JSON (${(error as Error).message})`);
  }
  const parsed = RecordLine.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw lineError(lineNumber, `${where}${issue?.message ?? 'invalid'}`);
  }
  const { key, value } = parsed.data;
  // zod's record leaves out a key named __proto__; the parsed line has every header
  // as an own property, and zod has checked their values.
  const headers = (json as { headers?: RecordHeaders }).headers ?? {};
  const merged = collectHeaders([
    ...headerPairs(defaults.headers),
    ...headerPairs(headers),
  ]);
  return {
    key: key === undefined ? defaults.key : key,
    value:
      value === null || typeof value === 'string'
        ? value
        : JSON.stringify(value),
    headers: merged,
  };
}

function lineError(lineNumber: number, reason: string): PlatformError {
  return new PlatformError(
    `stdin line ${lineNumber}: ${reason}; the records before it were produced, none from it on`,
    'write one JSON object a line, such as {"key":"k","value":{"a":1},"headers":{"h":"v"}}, ' +
      'or leave out --json-lines to send each line as it is',
  );
}

const text = (bytes: Buffer | string | null | undefined): string | null =>
  bytes === null || bytes === undefined ? null : bytes.toString();

/**
 * A consumed kafkajs message, decoded for printing.
 *
 * @example
 * ```ts
 * await consumer.run({
 *   eachMessage: async ({ topic, partition, message }) =>
 *     console.log(formatRecord(decodeRecord(topic, partition, message))),
 * });
 * ```
 */
export function decodeRecord(
  topic: string,
  partition: number,
  message: Pick<
    KafkaMessage,
    'key' | 'value' | 'headers' | 'offset' | 'timestamp'
  >,
): TailedRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: text(message.key),
    value: text(message.value),
    headers: decodeHeaders(message.headers),
  };
}

function decodeHeaders(headers: IHeaders | undefined): RecordHeaders {
  return collectHeaders(
    Object.entries(headers ?? {}).flatMap(([name, value]) =>
      [value ?? []].flat().map((one): [string, string] => [name, `${one}`]),
    ),
  );
}

/**
 * A record for a person: a line with its place and time, then its key, its headers
 * and its value (pretty JSON when the value parses as JSON), then a blank line.
 *
 * @example
 * ```ts
 * formatRecord(record);
 * // 'orders.v1  partition 0  offset 7  2025-05-01T10:00:00.000Z\n  key     o-1\n...'
 * ```
 */
export function formatRecord(record: TailedRecord): string {
  const field = (label: string, content: string) =>
    `  ${label.padEnd(8)}${content.replaceAll('\n', `\n${' '.repeat(10)}`)}`;
  const headers = headerPairs(record.headers).map(([name, value]) =>
    field('header', `${name}: ${value}`),
  );
  return [
    `${record.topic}  partition ${record.partition}  offset ${record.offset}  ${record.timestamp}`,
    field('key', record.key ?? '(none)'),
    ...headers,
    field('value', record.value === null ? '(null)' : prettyJson(record.value)),
    '',
  ].join('\n');
}

/** The value as indented JSON when it parses as JSON, else as it is. */
function prettyJson(value: string): string {
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}
