/**
 * The size rule of docs/architecture.md (Sizes) holds on every source file of
 * the repository, and the check can fail: fed fake oversized files, it names
 * each file and function.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MAX_FILE_LINES,
  MAX_FUNCTION_LINES,
  measureSizes,
  type SourceText,
} from '../../scripts/size-report.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The folders of source code; test/ is left out. */
const SOURCE_FOLDERS = ['functions', 'infra', 'local', 'scripts', 'bench'];
/** The top-level source files beside them. */
const ROOT_SOURCES = ['vitest.config.ts', 'vitest.faults.config.ts'];
const SOURCE_EXTENSION = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** Every source file under the source folders, and the root ones (no git). */
function repositorySources(): SourceText[] {
  const paths = SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => SOURCE_EXTENSION.test(name))
      .map((name) => `${folder}/${name.split(sep).join('/')}`),
  );
  return [...paths, ...ROOT_SOURCES].map((path) => ({
    path,
    source: readFileSync(join(ROOT, path), 'utf8'),
  }));
}

/** `n` lines of statements. */
function lines(n: number, line = 'x++;'): string {
  return `${Array.from({ length: n }, () => line).join('\n')}\n`;
}

describe('the size rule on the repository', () => {
  it('holds for every source file', () => {
    // Prepare
    const sources = repositorySources();

    // Act
    const report = measureSizes(sources);

    // Assess: the walk saw the handlers, the local runtime and the console page,
    // so an empty list means something.
    expect(sources.map((file) => file.path)).toEqual(
      expect.arrayContaining([
        'functions/payment.ts',
        'infra/kafka-cluster.ts',
        'local/runtime/system.ts',
        'local/console/page/flow.js',
      ]),
    );
    const over = [
      ...report.files.map((file) => `${file.path}: ${file.lines} lines`),
      ...report.functions.map(
        (fn) => `${fn.path}:${fn.line} ${fn.name}: ${fn.lines} lines`,
      ),
    ];
    expect(over).toEqual([]);
  });
});

describe('measureSizes', () => {
  it('names each file and function over its limit', () => {
    // Prepare
    const longFunction = `let x = 0;\nexport function tooLong() {\n${lines(MAX_FUNCTION_LINES - 1)}}\n`;
    const sources: SourceText[] = [
      { path: 'big.ts', source: lines(MAX_FILE_LINES + 1, 'export {};') },
      { path: 'long.ts', source: longFunction },
      {
        path: 'fits.ts',
        source: `export function fits() {\n${lines(MAX_FUNCTION_LINES - 2)}}\n`,
      },
    ];

    // Act
    const report = measureSizes(sources);

    // Assess
    expect(report.files).toEqual([
      { path: 'big.ts', lines: MAX_FILE_LINES + 1 },
    ]);
    expect(report.functions).toEqual([
      {
        path: 'long.ts',
        name: 'tooLong',
        line: 2,
        lines: MAX_FUNCTION_LINES + 1,
      },
    ]);
  });

  it('leaves out a size: reason and a generated file', () => {
    // Prepare
    const reasoned = `export function linear() {\n  // size: one linear thing\n${lines(MAX_FUNCTION_LINES)}}\n`;
    const sources: SourceText[] = [
      {
        path: 'reason.ts',
        source: `// size: a table\n${lines(MAX_FILE_LINES + 1, 'export {};')}`,
      },
      {
        path: 'generated.ts',
        source: `// @generated\n${lines(MAX_FILE_LINES + 1, 'export {};')}`,
      },
      { path: 'linear.ts', source: reasoned },
    ];

    // Act
    const report = measureSizes(sources);

    // Assess
    expect(report.files).toEqual([]);
    expect(report.functions).toEqual([]);
    expect(report.exempt).toEqual(['reason.ts', 'generated.ts']);
  });
});
