import { type ParseArgsConfig, parseArgs } from 'node:util';

/** The options every command takes: `--help` (or `-h`) prints its usage. */
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Reads a command's arguments with `node:util`'s `parseArgs`. `--help` prints `usage`
 * and exits 0; a mistake (an unknown option, a missing value) prints one line naming
 * it, then the usage, and exits 2, instead of a stack trace.
 *
 * @example
 * ```ts
 * const { values } = parseCommandLine(USAGE, {
 *   options: { port: { type: 'string' } },
 * });
 * ```
 */
export function parseCommandLine<const C extends ParseArgsConfig>(
  usage: string,
  config: C,
  args: readonly string[] = process.argv.slice(2),
): ReturnType<typeof parseArgs<C>> {
  let parsed: ReturnType<typeof parseArgs<C>>;
  try {
    parsed = parseArgs({
      ...config,
      args: [...args],
      options: { ...config.options, ...HELP },
    }) as ReturnType<typeof parseArgs<C>>;
  } catch (error) {
    if (!isArgumentError(error)) throw error;
    refuseArguments(error.message, usage);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed;
}

/**
 * Refuses a command line: prints `error: <message>` (then the usage, when given) to
 * stderr and exits 2, the exit code of a usage mistake.
 *
 * @example
 * ```ts
 * if (!valid) refuseArguments('--env x: expected <function>:<NAME>=<value>', USAGE);
 * ```
 */
export function refuseArguments(message: string, usage?: string): never {
  process.stderr.write(
    `error: ${message}\n${usage === undefined ? '' : `\n${usage}\n`}`,
  );
  process.exit(2);
}

function isArgumentError(error: unknown): error is Error {
  return (
    error instanceof TypeError &&
    String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS_')
  );
}
