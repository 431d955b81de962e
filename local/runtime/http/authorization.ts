/**
 * Authorization of the local HTTP API's routes, since nothing can be checked
 * against AWS here: `AWS_IAM` routes take the local admin token
 * (../admin-token.ts), `JWT` routes any well-formed JWT, decoded but not verified.
 */
import { timingSafeEqual } from 'node:crypto';
import { isRecord } from '#commons/guards.ts';
import { FORBIDDEN_HINT, UNAUTHORIZED_HINT } from '../admin-token.ts';
import type { LocalRoute as TemplateRoute } from '../template/model.ts';
import { type AuthorizerContext, LOCAL_ACCOUNT_ID } from './event.ts';
import { gatewayError, type HttpResponse } from './responses.ts';

/** How a route is authorized, as the template's `AuthorizationType` says. */
export type AuthorizationType = TemplateRoute['authorizationType'];

/**
 * The caller an `AWS_IAM` route sees once the admin token is accepted: IAM
 * cannot be checked locally, so every operator is this one IAM user.
 */
export const LOCAL_OPERATOR = {
  accessKey: 'AKIALOCALOPERATOR000',
  accountId: LOCAL_ACCOUNT_ID,
  callerId: 'AIDALOCALOPERATOR0000',
  cognitoIdentity: null,
  principalOrgId: null,
  userArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/local-operator`,
  userId: 'AIDALOCALOPERATOR0000',
} as const;

/** A request let through, with what its authorizer adds; or the answer refusing it. */
export type Authorization =
  | { ok: true; context?: AuthorizerContext }
  | { ok: false; response: HttpResponse };

/**
 * Checks a request's `Authorization` header against its route's authorization
 * type: `NONE` passes; `AWS_IAM` demands `Bearer <adminToken>` (else 403
 * `Forbidden`); `JWT` demands a bearer JWT (else 401 `Unauthorized`), whose
 * claims and scopes it passes on unverified.
 *
 * @example
 * ```ts
 * const authorization = authorize('AWS_IAM', `Bearer ${token}`, token);
 * // authorization.ok -> true, with requestContext.authorizer.iam
 * ```
 */
export function authorize(
  type: AuthorizationType,
  header: string | undefined,
  adminToken: string,
): Authorization {
  if (type === 'NONE') return { ok: true };
  const token = bearerToken(header);
  if (type === 'AWS_IAM') {
    if (token === undefined || !sameSecret(token, adminToken)) {
      return {
        ok: false,
        response: gatewayError(403, 'Forbidden', FORBIDDEN_HINT),
      };
    }
    return { ok: true, context: { iam: { ...LOCAL_OPERATOR } } };
  }
  const claims = token === undefined ? undefined : jwtClaims(token);
  if (!claims) {
    return {
      ok: false,
      response: gatewayError(401, 'Unauthorized', UNAUTHORIZED_HINT),
    };
  }
  return { ok: true, context: { jwt: { claims, scopes: scopesOf(claims) } } };
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The payload of a JWT, unverified; undefined when it is not one. */
function jwtClaims(
  token: string,
): Record<string, string | number | boolean | string[]> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(payload)) return undefined;
  const claims: Record<string, string | number | boolean | string[]> = {};
  for (const [name, value] of Object.entries(payload)) {
    claims[name] =
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean' ||
      (Array.isArray(value) && value.every((v) => typeof v === 'string'))
        ? value
        : JSON.stringify(value);
  }
  return claims;
}

/** Scopes as API Gateway reads them: the `scope` (or `scp`) claim. */
function scopesOf(
  claims: Record<string, string | number | boolean | string[]>,
): string[] | null {
  const scope = claims.scope ?? claims.scp;
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scope)) return [...scope];
  return null;
}
