import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Each synthesis of an `App` without an `outdir` writes its cloud assembly (templates
 * and bundled functions: megabytes) to a new `cdk.out*` directory under the temporary
 * directory, and never removes it: tens per run. So the test workers, started after
 * this and inheriting its environment, get a temporary directory of their own,
 * removed at teardown.
 */
export default function setup() {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'infra-tests-'));
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
