/**
 * Routing of the local HTTP API: which of the template's route keys a request
 * matches, and the values of its path variables, as API Gateway picks them.
 */
import type { LocalRoute as TemplateRoute } from '../template/model.ts';

/** What the HTTP API needs of a route the template reader found. */
export type LocalRoute = Pick<
  TemplateRoute,
  'routeKey' | 'functionLogicalId' | 'authorizationType'
>;

/** A route that matched a request, with the values of its path variables. */
export interface RouteMatch<R extends { readonly routeKey: string }> {
  readonly route: R;
  readonly pathParameters: Record<string, string>;
}

/**
 * Finds the route API Gateway would pick for a request: exact route keys with
 * `{param}` segments and a trailing `{proxy+}`, `ANY` as a method, `$default`
 * last. When several match, the most specific wins: literal segments before
 * variables before greedy variables, a named method before `ANY`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
 * No match is `undefined`; the server answers it 404 `{"message":"Not Found"}`.
 *
 * @example
 * ```ts
 * const match = matchRoute(routes, 'GET', '/orders/o-1');
 * // match?.pathParameters -> { orderId: 'o-1' }
 * ```
 */
export function matchRoute<R extends { readonly routeKey: string }>(
  routes: readonly R[],
  method: string,
  path: string,
): RouteMatch<R> | undefined {
  const segments = splitPath(path);
  let best: { match: RouteMatch<R>; rank: number[] } | undefined;
  for (const route of routes) {
    const candidate = tryRoute(route, method.toUpperCase(), segments);
    if (candidate && (!best || compareRanks(candidate.rank, best.rank) > 0)) {
      best = candidate;
    }
  }
  return best?.match;
}

function splitPath(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment.length > 0)
    .map(decodeSegment);
}

/** A path segment percent-decoded; left as it is when it is not valid encoding. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Segment ranks: higher is more specific. */
const LITERAL = 3;
const VARIABLE = 2;
const GREEDY = 1;

function tryRoute<R extends { readonly routeKey: string }>(
  route: R,
  method: string,
  segments: readonly string[],
): { match: RouteMatch<R>; rank: number[] } | undefined {
  if (route.routeKey === '$default') {
    return { match: { route, pathParameters: {} }, rank: [0] };
  }
  const space = route.routeKey.indexOf(' ');
  if (space < 0) return undefined;
  const routeMethod = route.routeKey.slice(0, space).toUpperCase();
  if (routeMethod !== 'ANY' && routeMethod !== method) return undefined;
  const pattern = route.routeKey
    .slice(space + 1)
    .split('/')
    .filter((segment) => segment.length > 0);

  const pathParameters: Record<string, string> = {};
  const rank: number[] = [];
  for (const [index, part] of pattern.entries()) {
    const greedy = part.match(/^\{(.+)\+\}$/);
    if (greedy?.[1] && index === pattern.length - 1) {
      const rest = segments.slice(index);
      // A greedy variable needs at least one segment.
      if (rest.length === 0) return undefined;
      pathParameters[greedy[1]] = rest.join('/');
      rank.push(GREEDY);
      return finish();
    }
    const segment = segments[index];
    if (segment === undefined) return undefined;
    const variable = part.match(/^\{(.+)\}$/);
    if (variable?.[1]) {
      pathParameters[variable[1]] = segment;
      rank.push(VARIABLE);
    } else if (part === segment) {
      rank.push(LITERAL);
    } else {
      return undefined;
    }
  }
  if (segments.length !== pattern.length) return undefined;
  return finish();

  function finish() {
    // A named method outranks ANY only between otherwise equal paths.
    rank.push(routeMethod === 'ANY' ? 0 : 1);
    return { match: { route, pathParameters }, rank: [1, ...rank] };
  }
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
