/**
 * How `npm run dev` shows the functions' log lines. A function logs one JSON object
 * per line (Powertools Logger), as CloudWatch wants it; on a terminal most of it is
 * the same every time (the function's ARN, memory size, request id...). A line is
 * shown as `[function] LEVEL message key=value ...` without those fields, an error as
 * its name and message (docs/local-output.md). `LOCAL_LOG_FORMAT=json` shows lines
 * as the functions wrote them.
 */

/** Fields every line of a function carries: the same on each line, or in the log's own line. */
const CONTEXT_FIELDS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
]);

/** A value longer than this is cut, with an ellipsis. */
const MAX_VALUE_CHARS = 200;

/**
 * A function's JSON log line, compacted; any other line as it is.
 *
 * @example
 * ```ts
 * compactLogLine('[payment] {"level":"INFO","message":"batch consumed","records":1}');
 * // '[payment] batch consumed records=1'
 * ```
 */
export function compactLogLine(line: string): string {
  const match = /^(\[[^\]]+\]) (\{.*\})$/.exec(line);
  if (!match) return line;
  const [, prefix, json] = match;
  let entry: unknown;
  try {
    entry = JSON.parse(json as string);
  } catch {
    return line;
  }
  if (
    typeof entry !== 'object' ||
    entry === null ||
    Array.isArray(entry) ||
    typeof (entry as { message?: unknown }).message !== 'string'
  ) {
    return line;
  }
  const fields = entry as Record<string, unknown>;
  const level = typeof fields.level === 'string' ? fields.level : 'INFO';
  const parts = [prefix as string];
  if (level !== 'INFO') parts.push(level);
  parts.push(oneLine(fields.message as string));
  for (const [name, value] of Object.entries(fields)) {
    if (CONTEXT_FIELDS.has(name)) continue;
    parts.push(`${name}=${render(name, value)}`);
  }
  return parts.join(' ');
}

function render(name: string, value: unknown): string {
  if (name === 'error' && typeof value === 'object' && value !== null) {
    const error = value as { name?: unknown; message?: unknown };
    return quote(
      `${String(error.name ?? 'Error')}: ${String(error.message ?? '')}`,
    );
  }
  if (typeof value === 'string') return quote(value);
  return cut(JSON.stringify(value) ?? String(value));
}

/** A string as is when it is one plain word, else quoted; one line, cut to size. */
function quote(text: string): string {
  const flat = cut(oneLine(text));
  return /^[^\s"=]+$/.test(flat) ? flat : JSON.stringify(flat);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function cut(text: string): string {
  return text.length <= MAX_VALUE_CHARS
    ? text
    : `${text.slice(0, MAX_VALUE_CHARS - 1)}…`;
}
