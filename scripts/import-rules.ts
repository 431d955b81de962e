/**
 * The import-direction rules of docs/architecture.md, as a pure check over source
 * texts: which module may import which. test/unit/architecture.test.ts runs it on
 * the repository's files (and on fake ones, to show that it can fail).
 */
import { posix } from 'node:path';
import { SyntaxKind } from 'typescript/unstable/ast';
import { createScanner } from 'typescript/unstable/ast/scanner';

/** A source file: its path from the repository root (`/`-separated) and its text. */
export interface SourceFile {
  readonly path: string;
  readonly source: string;
}

/** One import that breaks a rule. */
export interface ImportViolation {
  /** The importing file. */
  readonly file: string;
  /** The specifier as written (`'#infra/tables.ts'`, `'../payment.ts'`). */
  readonly specifier: string;
  /** The rule it breaks, as a sentence. */
  readonly rule: string;
}

/**
 * The package.json `imports` map, `#prefix/*` to `./folder/*`, as prefix pairs
 * (`{ '#domain/': 'functions/domain/' }`).
 */
export type ImportMap = Readonly<Record<string, string>>;

/**
 * What functions/domain/ may import besides itself: zod (its schemas are the event
 * types) and node:crypto (`createHash`, deterministic ids; no I/O). Every other
 * package and `node:` module, and every other folder of ours, is out.
 */
export const DOMAIN_ALLOWED_PACKAGES: readonly string[] = [
  'zod',
  'node:crypto',
];

/**
 * The `*` subpath patterns of a package.json `imports` field as prefix pairs.
 *
 * @example
 * ```ts
 * importMapOf({ '#domain/*': './functions/domain/*' });
 * // { '#domain/': 'functions/domain/' }
 * ```
 */
export function importMapOf(imports: Record<string, unknown>): ImportMap {
  const map: Record<string, string> = {};
  for (const [pattern, target] of Object.entries(imports)) {
    if (typeof target !== 'string') continue;
    if (!pattern.endsWith('*') || !target.endsWith('*')) continue;
    map[pattern.slice(0, -1)] = posix.normalize(target.slice(0, -1));
  }
  return map;
}

/**
 * Every module specifier of a TypeScript source: static `import ... from`, bare
 * `import '...'`, `export ... from` and `import('...')` with a literal. Comments
 * and strings are skipped by the TypeScript scanner, so an `import` in a TSDoc
 * example or a template literal does not count.
 *
 * @example
 * ```ts
 * importSpecifiers("import { a } from './a.ts';\nconst b = await import('b');");
 * // ['./a.ts', 'b']
 * ```
 */
export function importSpecifiers(source: string): string[] {
  const tokens = tokensOf(source);
  const specifiers: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token?.kind === SyntaxKind.ImportKeyword) {
      const next = tokens[i + 1];
      if (next?.kind === SyntaxKind.StringLiteral) {
        specifiers.push(next.value);
      } else if (next?.kind === SyntaxKind.OpenParenToken) {
        const literal = tokens[i + 2];
        if (literal?.kind === SyntaxKind.StringLiteral) {
          specifiers.push(literal.value);
        }
      } else if (next?.kind !== SyntaxKind.DotToken) {
        const from = fromSpecifier(tokens, i + 1);
        if (from !== undefined) specifiers.push(from);
      }
    } else if (token?.kind === SyntaxKind.ExportKeyword) {
      let j = i + 1;
      if (tokens[j]?.kind === SyntaxKind.TypeKeyword) j++;
      const opener = tokens[j]?.kind;
      if (
        opener === SyntaxKind.OpenBraceToken ||
        opener === SyntaxKind.AsteriskToken
      ) {
        const from = fromSpecifier(tokens, j);
        if (from !== undefined) specifiers.push(from);
      }
    }
  }
  return specifiers;
}

/**
 * The imports of the given files that break the rules of docs/architecture.md:
 * - a handler (`functions/<name>.ts`) imports another handler;
 * - a module under functions/domain/ imports anything but functions/domain/ and
 *   {@link DOMAIN_ALLOWED_PACKAGES};
 * - a module under functions/ imports infra/ or local/.
 *
 * Pure: it reads only the texts given. Relative specifiers and `#` subpath
 * imports (through `importMap`) are resolved to repository paths first.
 *
 * @example
 * ```ts
 * checkImports(
 *   [{ path: 'functions/payment.ts', source: "import '#infra/tables.ts';" }],
 *   { '#infra/': 'infra/' },
 * );
 * // [{ file: 'functions/payment.ts', specifier: '#infra/tables.ts', rule: '...' }]
 * ```
 */
export function checkImports(
  files: readonly SourceFile[],
  importMap: ImportMap,
): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const file of files) {
    if (!file.path.startsWith('functions/')) continue;
    for (const specifier of importSpecifiers(file.source)) {
      const target = resolveSpecifier(file.path, specifier, importMap);
      const rule = brokenRule(file.path, specifier, target);
      if (rule !== undefined) {
        violations.push({ file: file.path, specifier, rule });
      }
    }
  }
  return violations;
}

/** Whether a path is a handler: a `.ts` file at the top of functions/. */
export function isHandler(path: string): boolean {
  return /^functions\/[^/]+\.ts$/.test(path);
}

/**
 * The repository path a specifier names (`functions/domain/events.ts`), or
 * undefined for a package or `node:` module.
 */
function resolveSpecifier(
  from: string,
  specifier: string,
  importMap: ImportMap,
): string | undefined {
  if (specifier.startsWith('./') || specifier.startsWith('../')) {
    return posix.normalize(posix.join(posix.dirname(from), specifier));
  }
  for (const [prefix, folder] of Object.entries(importMap)) {
    if (specifier.startsWith(prefix)) {
      return posix.join(folder, specifier.slice(prefix.length));
    }
  }
  return undefined;
}

/** The rule an import of `target` (or of a package) from `from` breaks, if any. */
function brokenRule(
  from: string,
  specifier: string,
  target: string | undefined,
): string | undefined {
  if (target !== undefined && /^(infra|local)\//.test(target)) {
    return 'functions/ must not import infra/ or local/';
  }
  if (isHandler(from) && target !== undefined && isHandler(target)) {
    if (target !== from) return 'a handler must not import another handler';
  }
  if (from.startsWith('functions/domain/')) {
    const allowed =
      target === undefined
        ? DOMAIN_ALLOWED_PACKAGES.includes(packageOf(specifier))
        : target.startsWith('functions/domain/');
    if (!allowed) {
      return `functions/domain/ may import only itself and ${DOMAIN_ALLOWED_PACKAGES.join(', ')}`;
    }
  }
  return undefined;
}

/** The package of a bare specifier: `zod/mini` is `zod`, `@aws-sdk/x/y` is `@aws-sdk/x`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@')
    ? parts.slice(0, 2).join('/')
    : (parts[0] ?? specifier);
}

interface Token {
  readonly kind: SyntaxKind;
  /** A string literal's value; empty for other tokens. */
  readonly value: string;
}

/**
 * The specifier after the first `from` that is followed by a string literal,
 * looking no further than the end of the statement.
 */
function fromSpecifier(
  tokens: readonly Token[],
  start: number,
): string | undefined {
  for (let i = start; i < tokens.length - 1; i++) {
    const kind = tokens[i]?.kind;
    if (kind === SyntaxKind.SemicolonToken) return undefined;
    const next = tokens[i + 1];
    if (
      kind === SyntaxKind.FromKeyword &&
      next?.kind === SyntaxKind.StringLiteral
    ) {
      return next.value;
    }
  }
  return undefined;
}

/**
 * The tokens of a source, without trivia. The scanner alone does not know where
 * a template literal's `${...}` ends nor whether `/` starts a regular
 * expression; the parser's answer is approximated here: a `}` that closes a
 * template substitution continues the template, and `/` after anything but a
 * value or `)`/`]`/`}` starts a regular expression.
 */
function tokensOf(source: string): Token[] {
  const scanner = createScanner(true, undefined, source);
  const tokens: Token[] = [];
  /** Brace depth at each open template substitution. */
  const templates: number[] = [];
  let depth = 0;
  for (;;) {
    let kind = scanner.scan();
    if (kind === SyntaxKind.EndOfFile) break;
    if (kind === SyntaxKind.OpenBraceToken) depth++;
    else if (kind === SyntaxKind.CloseBraceToken) {
      if (templates.at(-1) === depth) {
        kind = scanner.reScanTemplateToken(false);
        if (kind === SyntaxKind.TemplateTail) templates.pop();
      } else depth--;
    } else if (
      (kind === SyntaxKind.SlashToken ||
        kind === SyntaxKind.SlashEqualsToken) &&
      !endsValue(tokens.at(-1)?.kind)
    ) {
      kind = scanner.reScanSlashToken();
    }
    if (kind === SyntaxKind.TemplateHead) templates.push(depth);
    tokens.push({
      kind,
      value: kind === SyntaxKind.StringLiteral ? scanner.getTokenValue() : '',
    });
  }
  return tokens;
}

/** Whether a token can end a value, so that a `/` after it is a division. */
function endsValue(kind: SyntaxKind | undefined): boolean {
  return (
    kind === SyntaxKind.Identifier ||
    kind === SyntaxKind.NumericLiteral ||
    kind === SyntaxKind.BigIntLiteral ||
    kind === SyntaxKind.StringLiteral ||
    kind === SyntaxKind.NoSubstitutionTemplateLiteral ||
    kind === SyntaxKind.TemplateTail ||
    kind === SyntaxKind.RegularExpressionLiteral ||
    kind === SyntaxKind.CloseParenToken ||
    kind === SyntaxKind.CloseBracketToken ||
    kind === SyntaxKind.CloseBraceToken ||
    kind === SyntaxKind.ThisKeyword ||
    kind === SyntaxKind.SuperKeyword ||
    kind === SyntaxKind.TrueKeyword ||
    kind === SyntaxKind.FalseKeyword ||
    kind === SyntaxKind.NullKeyword
  );
}
