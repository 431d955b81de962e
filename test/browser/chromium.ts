import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where the browser test looks for Chromium, and what it found. */
export interface ChromiumLookup {
  /** The executable to launch, or undefined when none was found. */
  readonly path: string | undefined;
  /** One line: what was found where, or what is missing and the fix. */
  readonly reason: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds the Chromium the browser test drives: `CHROMIUM_PATH`, else Debian's
 * `/usr/bin/chromium`, else `chromium` on `PATH`. playwright-core never downloads a
 * browser, so none found means the machine lacks the package (docs/console-test.md).
 *
 * @example
 * ```ts
 * const { path, reason } = findChromium(process.env);
 * if (!path) throw new Error(reason);
 * ```
 */
export function findChromium(env: NodeJS.ProcessEnv): ChromiumLookup {
  const given = env.CHROMIUM_PATH;
  if (given) {
    return executable(given)
      ? { path: given, reason: `CHROMIUM_PATH ${given}` }
      : {
          path: undefined,
          reason: `CHROMIUM_PATH=${given} is not an executable file: point it at chromium, or unset it and apt-get install chromium`,
        };
  }
  const candidates = [
    '/usr/bin/chromium',
    ...(env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'chromium')),
  ];
  const found = candidates.find(executable);
  return found
    ? { path: found, reason: found }
    : {
        path: undefined,
        reason:
          'no chromium (CHROMIUM_PATH, /usr/bin/chromium, PATH): apt-get install chromium, or set CHROMIUM_PATH',
      };
}
