/**
 * `npm run size-report` finds the files over 400 lines and the functions over 80
 * (every kind of function), and leaves out what gives a `size:` reason or is
 * generated.
 */
import { describe, expect, it } from 'vitest';
import { measureSizes } from '../../scripts/size-report.ts';

/** `count` statement lines, each `  step(<i>);`. */
function statements(count: number): string {
  return Array.from({ length: count }, (_, i) => `  step(${i});`).join('\n');
}

describe('measureSizes', () => {
  it('lists a file over 400 lines and not one of 400', () => {
    // Prepare
    const line = 'export const a = 1;\n';
    const sources = [
      { path: 'big.ts', source: line.repeat(401) },
      { path: 'limit.ts', source: line.repeat(400) },
    ];

    // Act
    const report = measureSizes(sources);

    // Assess
    expect(report.files).toEqual([{ path: 'big.ts', lines: 401 }]);
  });

  it('lists each kind of function over 80 lines, by name and first line', () => {
    // Prepare: bodies of 79 statements make 81-line functions; 78, 80 lines.
    const source = [
      '/** A declaration. */',
      `export function declared() {\n${statements(79)}\n}`,
      `const arrow = () => {\n${statements(79)}\n};`,
      `const expression = function () {\n${statements(79)}\n};`,
      `class C {\n  method() {\n${statements(79)}\n  }\n}`,
      `function atLimit() {\n${statements(78)}\n}`,
    ].join('\n');

    // Act
    const report = measureSizes([{ path: 'f.js', source }]);

    // Assess: the declaration starts after its TSDoc, on line 2.
    expect(report.functions).toEqual([
      { path: 'f.js', name: 'declared', line: 2, lines: 81 },
      { path: 'f.js', name: 'arrow', line: 83, lines: 81 },
      { path: 'f.js', name: 'expression', line: 164, lines: 81 },
      { path: 'f.js', name: 'method', line: 246, lines: 81 },
    ]);
  });

  it('leaves out a function or a file with a size: reason, and generated files', () => {
    // Prepare
    const long = `function long() {\n${statements(90)}\n}\n`;
    const filler = 'export const a = 1;\n'.repeat(12);
    const sources = [
      {
        path: 'reason-inside.ts',
        source: `function long() {\n  // size: one switch\n${statements(90)}\n}\n`,
      },
      {
        path: 'reason-above.ts',
        source: `${filler}// size: not at the top of the function\n${long}`,
      },
      {
        path: 'file-reason.ts',
        source: `/**\n * The cases.\n * size: one table\n */\n${long.repeat(5)}`,
      },
      { path: 'generated.ts', source: `// @generated\n${long.repeat(5)}` },
      { path: 'plain.ts', source: long },
    ];

    // Act
    const report = measureSizes(sources);

    // Assess: a reason inside the top comment or the function counts; one
    // above a function, past the file's top, does not.
    expect(report.functions.map((fn) => fn.path)).toEqual([
      'reason-above.ts',
      'plain.ts',
    ]);
    expect(report.files).toEqual([]);
    expect(report.exempt).toEqual(['file-reason.ts', 'generated.ts']);
  });
});
