/**
 * The import-direction rules of docs/architecture.md hold on every source file of
 * the repository, and the check can fail: fed fake offending files, it names each
 * file and import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkImports,
  importMapOf,
  importSpecifiers,
  type SourceFile,
} from '../../scripts/import-rules.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The package.json `imports` map, as the checker takes it. */
function repositoryImportMap() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    imports: Record<string, unknown>;
  };
  return importMapOf(pkg.imports);
}

/** The folders of source code; test/ is left out. */
const SOURCE_FOLDERS = ['functions', 'infra', 'local', 'scripts', 'bench'];

/** Every TypeScript file under the source folders (no git needed). */
function repositorySources(): SourceFile[] {
  return SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .map((name) => {
        const path = `${folder}/${name.split(sep).join('/')}`;
        return { path, source: readFileSync(join(ROOT, path), 'utf8') };
      }),
  );
}

const MAP = {
  '#domain/': 'functions/domain/',
  '#commons/': 'functions/commons/',
  '#platform/': 'local/platform/',
  '#infra/': 'infra/',
};

describe('the import rules on the repository', () => {
  it('hold for every source file', () => {
    // Prepare
    const files = repositorySources();

    // Act
    const violations = checkImports(files, repositoryImportMap());

    // Assess: the walk saw the handlers and the domain, so an empty list means
    // something.
    expect(files.map((file) => file.path)).toEqual(
      expect.arrayContaining([
        'functions/payment.ts',
        'functions/domain/events.ts',
      ]),
    );
    expect(violations).toEqual([]);
  });

  it('read the import map the checker is given from package.json', () => {
    expect(repositoryImportMap()).toEqual(MAP);
  });
});

describe('checkImports', () => {
  it('names a handler that imports another handler', () => {
    // Prepare
    const files = [
      {
        path: 'functions/payment.ts',
        source: "import { handler } from './order-api.ts';\n",
      },
    ];

    // Act
    const violations = checkImports(files, MAP);

    // Assess
    expect(violations).toEqual([
      {
        file: 'functions/payment.ts',
        specifier: './order-api.ts',
        rule: 'a handler must not import another handler',
      },
    ]);
  });

  it('names functions/ importing infra/ or local/, relative or through #', () => {
    // Prepare
    const files = [
      {
        path: 'functions/commons/orders.ts',
        source: [
          "import { TABLES } from '#infra/tables.ts';",
          "import { wait } from '../../local/platform/wait.ts';",
          "export { x } from '#platform/ports.ts';",
          "const m = await import('../../infra/app.ts');",
        ].join('\n'),
      },
    ];

    // Act
    const violations = checkImports(files, MAP);

    // Assess
    expect(violations.map((v) => [v.file, v.specifier, v.rule])).toEqual([
      [
        'functions/commons/orders.ts',
        '#infra/tables.ts',
        'functions/ must not import infra/ or local/',
      ],
      [
        'functions/commons/orders.ts',
        '../../local/platform/wait.ts',
        'functions/ must not import infra/ or local/',
      ],
      [
        'functions/commons/orders.ts',
        '#platform/ports.ts',
        'functions/ must not import infra/ or local/',
      ],
      [
        'functions/commons/orders.ts',
        '../../infra/app.ts',
        'functions/ must not import infra/ or local/',
      ],
    ]);
  });

  it('names the domain importing an adapter, an SDK or an I/O node module', () => {
    // Prepare
    const files = [
      {
        path: 'functions/domain/order.ts',
        source: [
          "import * as z from 'zod';",
          "import { createHash } from 'node:crypto';",
          "import { Money } from './money.ts';",
          "import { Clock } from '#domain/events.ts';",
          "import { saveOrder } from '#commons/order-repository.ts';",
          "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
          "import { readFile } from 'node:fs/promises';",
          "import type { MSKEvent } from 'aws-lambda';",
        ].join('\n'),
      },
    ];

    // Act
    const specifiers = checkImports(files, MAP).map((v) => v.specifier);

    // Assess: zod, node:crypto and the domain itself pass; the rest does not.
    expect(specifiers).toEqual([
      '#commons/order-repository.ts',
      '@aws-sdk/client-dynamodb',
      'node:fs/promises',
      'aws-lambda',
    ]);
  });

  it('leaves alone what the rules allow', () => {
    // Prepare: a handler on commons and domain; commons on domain; infra and
    // local on anything.
    const files = [
      {
        path: 'functions/payment.ts',
        source:
          "import { x } from '#commons/http.ts';\nimport { y } from './domain/order.ts';",
      },
      {
        path: 'functions/commons/http.ts',
        source: "import { y } from '../domain/order.ts';",
      },
      { path: 'infra/app.ts', source: "import '../functions/payment.ts';" },
      {
        path: 'local/dev.ts',
        source: "import { handler } from '../functions/payment.ts';",
      },
    ];

    // Act / Assess
    expect(checkImports(files, MAP)).toEqual([]);
  });
});

describe('importSpecifiers', () => {
  it('finds every static, re-export, side-effect and dynamic import', () => {
    // Prepare
    const source = [
      "import a, { b as c } from 'one';",
      "import type { D } from './two.ts';",
      "import * as e from 'three';",
      "import 'four';",
      "export { f } from './five.ts';",
      "export type { G } from 'six';",
      "export * from 'seven';",
      'const h = await import(',
      "  'eight'",
      ');',
      'const u = import.meta.url;',
      "export const from = 'not-an-import';",
    ].join('\n');

    // Act
    const specifiers = importSpecifiers(source);

    // Assess
    expect(specifiers).toEqual([
      'one',
      './two.ts',
      'three',
      'four',
      './five.ts',
      'six',
      'seven',
      'eight',
    ]);
  });

  it('skips imports in comments, strings, templates and regular expressions', () => {
    // Prepare
    const source = [
      '/**',
      ' * @example',
      " * import { x } from '#infra/tables.ts';",
      ' */',
      "// import '#infra/app.ts';",
      'const s = "import { y } from \'#infra/topics.ts\'";',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal's source text
      "const t = `${a}import '#infra/x.ts'${`${b}`}import('#infra/y.ts')`;",
      "const r = /import '#infra\\/z.ts'/;",
      "const q = a / b; import { real } from 'real';",
    ].join('\n');

    // Act
    const specifiers = importSpecifiers(source);

    // Assess
    expect(specifiers).toEqual(['real']);
  });
});
