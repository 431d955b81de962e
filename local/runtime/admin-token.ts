/**
 * The admin token: what the local HTTP API demands on the routes AWS authorizes with
 * IAM (nothing can be signed against AWS here). `npm run dev` draws one at each start
 * unless `LOCAL_ADMIN_TOKEN` or `--admin-token` fixes it, so that scripts and request
 * files can keep one across restarts (docs/local-output.md).
 */
import { randomBytes } from 'node:crypto';
import { PlatformError } from '#platform/errors.ts';

/** The fewest characters a fixed admin token may have. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/**
 * What a local 403 on an IAM route adds to API Gateway's `{"message":"Forbidden"}`,
 * under `local`: how to authenticate here.
 */
export const FORBIDDEN_HINT =
  'this route is IAM-authorized on AWS; locally send Authorization: Bearer ' +
  '<admin token>, the one npm run dev printed at start (or LOCAL_ADMIN_TOKEN)';

/**
 * What a local 401 on a JWT route adds to API Gateway's `{"message":"Unauthorized"}`,
 * under `local`.
 */
export const UNAUTHORIZED_HINT =
  'this route takes a JWT on AWS; locally send Authorization: Bearer <any JWT>: ' +
  'its claims are passed on, not verified';

/**
 * An admin token drawn at random: 32 base64url characters.
 *
 * @example
 * ```ts
 * const adminToken = options.adminToken ?? randomAdminToken();
 * ```
 */
export function randomAdminToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Checks a fixed admin token: at least {@link MIN_ADMIN_TOKEN_LENGTH} printable ASCII
 * characters without spaces (it travels as `Authorization: Bearer <token>`). Anything
 * else is a {@link PlatformError} naming `setting` and the fix; the token itself is
 * not repeated.
 *
 * @example
 * ```ts
 * parseAdminToken(process.env.LOCAL_ADMIN_TOKEN, 'LOCAL_ADMIN_TOKEN');
 * ```
 */
export function parseAdminToken(raw: string, setting: string): string {
  const fix =
    `set ${setting} to at least ${MIN_ADMIN_TOKEN_LENGTH} printable characters ` +
    'without spaces (e.g. the output of: openssl rand -hex 16), or leave it out ' +
    'for a random token';
  if (raw.length === 0) {
    throw new PlatformError(`${setting} is empty`, fix);
  }
  if (!/^[\x21-\x7e]+$/.test(raw)) {
    throw new PlatformError(
      `${setting} holds a space, a control or a non-ASCII character`,
      fix,
    );
  }
  if (raw.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new PlatformError(
      `${setting} is ${raw.length} characters long, under the ${MIN_ADMIN_TOKEN_LENGTH} an admin token needs`,
      fix,
    );
  }
  return raw;
}
