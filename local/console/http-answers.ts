/**
 * The console's small HTTP helpers: a JSON answer, a path segment decoded, and
 * whether a Host header names this machine.
 */
import type { ServerResponse } from 'node:http';

/** Answers `body` as JSON with `status`, never cached. */
export function json(
  response: ServerResponse,
  status: number,
  body: unknown,
): void {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': text.length,
    'cache-control': 'no-store',
  });
  response.end(text);
}

/** A percent-decoded path segment, or `undefined` when it is not valid. */
export function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Whether a Host header names this machine: 127.0.0.1, localhost or [::1], with
 * any port.
 *
 * @example
 * ```ts
 * isLocalHost('127.0.0.1:3000'); // true
 * isLocalHost('evil.example:3000'); // false
 * ```
 */
export function isLocalHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}
