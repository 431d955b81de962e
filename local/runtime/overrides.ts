/**
 * What `npm run dev --env` and `--chaos` say, read into per-function settings
 * (docs/local-faults.md). Functions are named by their short local name (`payment`,
 * `order-api`: ./template/functions.ts), checked against the template once it is read.
 */
import type { ChaosMoment, ChaosSettings } from './chaos.ts';

/** A function's chaos as given: without a seed, the runtime draws one. */
export type ChaosOption = Omit<ChaosSettings, 'seed'> & {
  readonly seed?: number;
};

/** Environment overrides and chaos, per function (short local name). */
export interface FunctionOverrides {
  /** Variables set over the template's, per function. */
  readonly environment: Readonly<
    Record<string, Readonly<Record<string, string>>>
  >;
  readonly chaos: Readonly<Record<string, ChaosOption>>;
}

/** An `--env` or `--chaos` value that does not follow its syntax. */
export class OverrideSyntaxError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OverrideSyntaxError';
  }
}

/** An override names a function the template does not have. */
export class UnknownFunctionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnknownFunctionError';
  }
}

/** A local function name: kebab case (./template/functions.ts `shortName`). */
const FUNCTION_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Lambda's key pattern for environment variables (API `Environment`). */
const VARIABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_]+$/;
/**
 * Keys Lambda reserves: a function's configuration cannot set them
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
 */
const RESERVED = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
]);
/** A share: 0 to 1, as a decimal. */
const SHARE = /^(0(\.\d+)?|1(\.0+)?|\.\d+)$/;
const MAX_SEED = 2 ** 32 - 1;

/**
 * Reads `--env` and `--chaos` values, in order: a later value for the same variable,
 * or the same function's chaos, replaces an earlier one.
 *
 * @example
 * ```ts
 * readOverrides({
 *   env: ['payment:GATEWAY_FAIL_ALL=true'],
 *   chaos: ['order-events:fail=0.2,seed=7'],
 * });
 * // { environment: { payment: { GATEWAY_FAIL_ALL: 'true' } },
 * //   chaos: { 'order-events': { fail: 0.2, timeout: 0, when: 'before', seed: 7 } } }
 * ```
 */
export function readOverrides(given: {
  readonly env: readonly string[];
  readonly chaos: readonly string[];
}): FunctionOverrides {
  const environment: Record<string, Record<string, string>> = {};
  for (const text of given.env) {
    const { functionName, variable, value } = parseEnvOverride(text);
    environment[functionName] = {
      ...environment[functionName],
      [variable]: value,
    };
  }
  const chaos: Record<string, ChaosOption> = {};
  for (const text of given.chaos) {
    const parsed = parseChaosOverride(text);
    chaos[parsed.functionName] = parsed.chaos;
  }
  return { environment, chaos };
}

/**
 * `<function>:<NAME>=<value>`; the value is everything after the first `=`, and may
 * be empty.
 *
 * @example
 * ```ts
 * parseEnvOverride('payment:GATEWAY_TRANSIENT_FAILURES=3');
 * // { functionName: 'payment', variable: 'GATEWAY_TRANSIENT_FAILURES', value: '3' }
 * ```
 */
export function parseEnvOverride(text: string): {
  functionName: string;
  variable: string;
  value: string;
} {
  const syntax = `--env ${text}: expected <function>:<NAME>=<value>, e.g. payment:GATEWAY_FAIL_ALL=true`;
  const [functionName, setting] = splitOnce(text, ':', syntax);
  const [variable, value] = splitOnce(setting, '=', syntax);
  checkFunctionName(functionName, `--env ${text}`);
  if (!VARIABLE_NAME.test(variable)) {
    throw new OverrideSyntaxError(
      `--env ${text}: ${variable || 'the name'} is not a variable name Lambda accepts (a letter, then letters, digits or _)`,
    );
  }
  if (RESERVED.has(variable)) {
    throw new OverrideSyntaxError(
      `--env ${text}: Lambda reserves ${variable}; a function's configuration cannot set it`,
    );
  }
  return { functionName, variable, value };
}

/**
 * `<function>:fail=<share>[,timeout=<share>][,when=before|after][,seed=<n>]`, the
 * settings in any order, at least one share; shares are 0 to 1 and add up to at
 * most 1.
 *
 * @example
 * ```ts
 * parseChaosOverride('payment:fail=0.1,timeout=0.05,seed=42');
 * // { functionName: 'payment', chaos: { fail: 0.1, timeout: 0.05, when: 'before', seed: 42 } }
 * ```
 */
export function parseChaosOverride(text: string): {
  functionName: string;
  chaos: ChaosOption;
} {
  const where = `--chaos ${text}`;
  const [functionName, list] = splitOnce(
    text,
    ':',
    `${where}: expected <function>:fail=<0..1>[,timeout=<0..1>][,when=before|after][,seed=<n>]`,
  );
  checkFunctionName(functionName, where);
  const settings = new Map<string, string>();
  for (const item of list.split(',')) {
    const [key, value] = splitOnce(
      item,
      '=',
      `${where}: '${item}' is not <setting>=<value>`,
    );
    if (settings.has(key)) {
      throw new OverrideSyntaxError(`${where}: ${key} is given twice`);
    }
    settings.set(key, value);
  }
  const share = (key: 'fail' | 'timeout'): number => {
    const value = settings.get(key);
    if (value === undefined) return 0;
    if (!SHARE.test(value)) {
      throw new OverrideSyntaxError(
        `${where}: ${key}=${value} is not a share from 0 to 1 (e.g. 0.25)`,
      );
    }
    return Number(value);
  };
  for (const key of settings.keys()) {
    if (!['fail', 'timeout', 'when', 'seed'].includes(key)) {
      throw new OverrideSyntaxError(
        `${where}: unknown setting ${key} (fail, timeout, when, seed)`,
      );
    }
  }
  if (!settings.has('fail') && !settings.has('timeout')) {
    throw new OverrideSyntaxError(
      `${where}: give fail=<0..1> or timeout=<0..1>`,
    );
  }
  const fail = share('fail');
  const timeout = share('timeout');
  if (fail + timeout > 1) {
    throw new OverrideSyntaxError(
      `${where}: fail + timeout is ${fail + timeout}, more than every invocation`,
    );
  }
  const when = settings.get('when') ?? 'before';
  if (when !== 'before' && when !== 'after') {
    throw new OverrideSyntaxError(`${where}: when is before or after`);
  }
  const seedText = settings.get('seed');
  let seed: number | undefined;
  if (seedText !== undefined) {
    seed = Number(seedText);
    if (!/^\d+$/.test(seedText) || seed > MAX_SEED) {
      throw new OverrideSyntaxError(
        `${where}: seed=${seedText} is not an integer from 0 to ${MAX_SEED}`,
      );
    }
  }
  return {
    functionName,
    chaos: {
      fail,
      timeout,
      when: when satisfies ChaosMoment,
      ...(seed === undefined ? {} : { seed }),
    },
  };
}

/**
 * The entries of LOCAL_FUNCTION_ENV or LOCAL_CHAOS: separated by white space (so a
 * value there cannot hold a space; `--env` can).
 *
 * @example
 * ```ts
 * splitEntries(' payment:A=1  order-api:B=2 '); // ['payment:A=1', 'order-api:B=2']
 * ```
 */
export function splitEntries(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter((entry) => entry !== '');
}

/**
 * Throws an {@link UnknownFunctionError} for a function the template lacks, naming
 * the ones it has, in one line.
 *
 * @example
 * ```ts
 * checkFunctionNames(overrides, model.functions.map((fn) => fn.name));
 * ```
 */
export function checkFunctionNames(
  overrides: Partial<FunctionOverrides>,
  names: readonly string[],
): void {
  const named = [
    ...Object.keys(overrides.environment ?? {}).map((name) => ['--env', name]),
    ...Object.keys(overrides.chaos ?? {}).map((name) => ['--chaos', name]),
  ];
  const unknown = named.find(([, name]) => !names.includes(name as string));
  if (unknown) {
    throw new UnknownFunctionError(
      `${unknown[0]}: no function named ${unknown[1]}; the functions are ${names.join(', ')}`,
    );
  }
}

function checkFunctionName(name: string, where: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new OverrideSyntaxError(
      `${where}: '${name}' is not a function name (e.g. payment, order-api)`,
    );
  }
}

/** `text` split at the first `separator`; neither side may be missing. */
function splitOnce(
  text: string,
  separator: string,
  message: string,
): [string, string] {
  const at = text.indexOf(separator);
  if (at <= 0) throw new OverrideSyntaxError(message);
  return [text.slice(0, at), text.slice(at + separator.length)];
}
