/**
 * What `npm run invoke` reads off its command line besides what `parseArgs` does:
 * the inspector flags (Node's own syntax, `--inspect-brk[=PORT]`, which `parseArgs`
 * cannot express) and the function's environment overrides (docs/local-commands.md).
 */
import type { SandboxInspector } from './lambda-worker.ts';
import { OverrideSyntaxError, readOverrides } from './overrides.ts';

/** Node's default inspector port, which debuggers try first. */
export const DEFAULT_INSPECTOR_PORT = 9229;

const INSPECT_FLAGS: Readonly<Record<string, SandboxInspector['wait']>> = {
  '--inspect': 'none',
  '--inspect-wait': 'attach',
  '--inspect-brk': 'break',
};

/**
 * Takes the inspector flags out of `args`, as Node spells them: `--inspect`,
 * `--inspect-wait`, `--inspect-brk`, each with an optional `=PORT` (default 9229; 0
 * picks a free one). The last one given wins. A bad port throws an
 * {@link OverrideSyntaxError}.
 *
 * @example
 * ```ts
 * takeInspectFlags(['payment', '--inspect-brk=9230']);
 * // { args: ['payment'], inspect: { port: 9230, wait: 'break' } }
 * ```
 */
export function takeInspectFlags(args: readonly string[]): {
  args: string[];
  inspect?: SandboxInspector;
} {
  const rest: string[] = [];
  let inspect: SandboxInspector | undefined;
  for (const [i, arg] of args.entries()) {
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    const [flag = '', port] = arg.split(/=(.*)/s, 2);
    const wait = Object.hasOwn(INSPECT_FLAGS, flag)
      ? INSPECT_FLAGS[flag]
      : undefined;
    if (wait === undefined) {
      rest.push(arg);
      continue;
    }
    inspect = {
      port: port === undefined ? DEFAULT_INSPECTOR_PORT : inspectorPort(arg),
      wait,
    };
  }
  return inspect ? { args: rest, inspect } : { args: rest };
}

function inspectorPort(arg: string): number {
  const text = arg.slice(arg.indexOf('=') + 1);
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) {
    throw new OverrideSyntaxError(
      `${arg}: the port is a number from 0 (a free one) to 65535, e.g. --inspect-brk=9229`,
    );
  }
  return port;
}

/**
 * The variables set over the template's for one invocation of `functionName`:
 * LOCAL_FUNCTION_ENV's entries for it (`FN:NAME=VALUE`, as `npm run dev` reads
 * them; other functions' are skipped), then `--env` values, `NAME=VALUE` or
 * `FN:NAME=VALUE` for this function. Lambda's rules for names apply
 * (./overrides.ts); a mistake, or an `--env` for another function, throws an
 * {@link OverrideSyntaxError}.
 *
 * @example
 * ```ts
 * invokeEnvironment('payment', {
 *   fromEnvironment: ['payment:GATEWAY_FAIL_ALL=true', 'order-api:X=1'],
 *   fromArguments: ['GATEWAY_TRANSIENT_FAILURES=2'],
 * });
 * // { GATEWAY_FAIL_ALL: 'true', GATEWAY_TRANSIENT_FAILURES: '2' }
 * ```
 */
export function invokeEnvironment(
  functionName: string,
  given: {
    readonly fromEnvironment: readonly string[];
    readonly fromArguments: readonly string[];
  },
): Record<string, string> {
  const entries: string[] = [];
  for (const text of given.fromEnvironment) {
    const named = namedFunction(text);
    if (named === undefined) entries.push(`${functionName}:${text}`);
    else if (named === functionName) entries.push(text);
  }
  for (const text of given.fromArguments) {
    const named = namedFunction(text);
    if (named !== undefined && named !== functionName) {
      throw new OverrideSyntaxError(
        `--env ${text}: names ${named}, but this invocation is of ${functionName}; give NAME=VALUE`,
      );
    }
    entries.push(named === undefined ? `${functionName}:${text}` : text);
  }
  const { environment } = readOverrides({ env: entries, chaos: [] });
  return { ...environment[functionName] };
}

/** The `FN` of `FN:NAME=VALUE`, or undefined for `NAME=VALUE`. */
function namedFunction(text: string): string | undefined {
  return /^([a-z0-9]+(?:-[a-z0-9]+)*):/.exec(text)?.[1];
}
