/**
 * `npm run size-report`: the source files over 400 lines and the functions over
 * 80 lines (docs/architecture.md, Sizes). Functions are found by TypeScript's own
 * parser (the compiler API of the `typescript` package, on an in-memory copy of
 * the files). Left out: test/, generated files, a file whose top comment gives
 * its reason in a `size:` line, and a function that gives it in a comment at the
 * top of its body. Prints the list and exits 0.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyntaxKind } from 'typescript/unstable/ast';
import { skipTrivia } from 'typescript/unstable/ast/scanner';
import { createVirtualFileSystem } from 'typescript/unstable/fs';
import { API } from 'typescript/unstable/sync';

/** A file's size limit, in lines. */
export const MAX_FILE_LINES = 400;
/** A function's size limit, in lines from its first to its last. */
export const MAX_FUNCTION_LINES = 80;

/** A source file: its path from the repository root and its text. */
export interface SourceText {
  readonly path: string;
  readonly source: string;
}

/** One file or function over its limit. */
export interface Oversize {
  readonly path: string;
  /** The function's name (`<anonymous>` when it has none); absent for a file. */
  readonly name?: string;
  /** The 1-based line the function starts on; absent for a file. */
  readonly line?: number;
  readonly lines: number;
}

/** What {@link measureSizes} found. */
export interface SizeReport {
  readonly files: readonly Oversize[];
  readonly functions: readonly Oversize[];
  /** Files left out: generated, or with a `size:` reason. */
  readonly exempt: readonly string[];
}

const SOURCE_EXTENSION = /\.(ts|mts|cts|js|mjs|cjs)$/;
/** A `size:` reason comment: `// size: ...` or ` * size: ...`. */
const SIZE_REASON = /^\s*(\/\/|\/\*+|\*)\s*size:/m;
const GENERATED = /@generated|do not edit/i;
/** How many first lines may carry a file's `size:` reason or generated mark. */
const HEADER_LINES = 10;

const FUNCTION_KINDS = new Set<SyntaxKind>([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
]);

/** The few node fields read here; the API's node type is wider. */
interface AstNode {
  readonly kind: SyntaxKind;
  readonly pos: number;
  readonly end: number;
  readonly parent?: AstNode;
  readonly name?: { readonly text?: string };
  readonly body?: AstNode & { readonly statements?: readonly AstNode[] };
  forEachChild(visit: (child: AstNode) => void): void;
}

/**
 * The files over {@link MAX_FILE_LINES} and the functions over
 * {@link MAX_FUNCTION_LINES} among the given sources (function declarations and
 * expressions, arrow functions, methods, constructors and accessors; a function
 * inside another counts on its own too).
 *
 * @example
 * ```ts
 * const report = measureSizes([{ path: 'a.ts', source: 'export const a = 1;\n' }]);
 * report.files; // []
 * ```
 */
export function measureSizes(sources: readonly SourceText[]): SizeReport {
  const exempt = sources
    .filter((file) => isExempt(file.source))
    .map((file) => file.path);
  const measured = sources.filter((file) => !exempt.includes(file.path));
  const files = measured
    .map((file) => ({ path: file.path, lines: lineCount(file.source) }))
    .filter((file) => file.lines > MAX_FILE_LINES);
  return { files, functions: longFunctions(measured), exempt };
}

/**
 * Whether a file's first lines say it is generated, or its top comment (the
 * comments before its first statement, within those lines) gives a `size:`
 * reason.
 */
function isExempt(source: string): boolean {
  const header = source.split('\n', HEADER_LINES).join('\n');
  const top = header.slice(0, skipTrivia(source, 0));
  return SIZE_REASON.test(top) || GENERATED.test(header);
}

function lineCount(source: string): number {
  const lines = source.split('\n').length;
  return source.endsWith('\n') ? lines - 1 : lines;
}

/** Parses the sources in memory (no type checking) and walks every function. */
function longFunctions(sources: readonly SourceText[]): Oversize[] {
  const root = '/size-report';
  const files: Record<string, string> = {
    [`${root}/tsconfig.json`]: JSON.stringify({
      compilerOptions: { allowJs: true, noResolve: true, noLib: true },
      files: sources.map((file) => file.path),
    }),
  };
  for (const file of sources) files[`${root}/${file.path}`] = file.source;
  const api = new API({ cwd: root, fs: createVirtualFileSystem(files) });
  try {
    const snapshot = api.updateSnapshot({
      openProjects: [`${root}/tsconfig.json`],
    });
    const program = snapshot.getProjects()[0]?.program;
    if (program === undefined) throw new Error('no program for the sources');
    const found: Oversize[] = [];
    for (const file of sources) {
      // The API's SourceFile is a node with the fields of AstNode.
      const tree = program.getSourceFile(`${root}/${file.path}`) as unknown as
        | AstNode
        | undefined;
      if (tree === undefined) throw new Error(`${file.path} was not parsed`);
      walk(tree, (node) => {
        const size = functionSize(file, node);
        if (size !== undefined) found.push(size);
      });
    }
    return found;
  } finally {
    api.close();
  }
}

function walk(node: AstNode, visit: (node: AstNode) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** The function's size when it is one over the limit without a `size:` reason. */
function functionSize(file: SourceText, node: AstNode): Oversize | undefined {
  if (!FUNCTION_KINDS.has(node.kind)) return undefined;
  const start = skipTrivia(file.source, node.pos);
  const first = lineOf(file.source, start);
  const lines = lineOf(file.source, node.end) - first + 1;
  if (lines <= MAX_FUNCTION_LINES) return undefined;
  if (hasSizeReason(file.source, node)) return undefined;
  return { path: file.path, name: nameOf(node), line: first, lines };
}

/**
 * Whether a `size:` reason stands at the top of the function: in a comment
 * before the first statement of its body.
 */
function hasSizeReason(source: string, node: AstNode): boolean {
  const first = node.body?.statements?.[0];
  if (node.body === undefined || first === undefined) return false;
  const opening = source.slice(node.body.pos, skipTrivia(source, first.pos));
  return SIZE_REASON.test(opening);
}

/** Its own name, or the name of what it is assigned to. */
function nameOf(node: AstNode): string {
  const own = node.name?.text;
  if (own) return own;
  if (node.kind === SyntaxKind.Constructor) return 'constructor';
  const holder = node.parent?.name?.text;
  return holder ? holder : '<anonymous>';
}

/** The 1-based line of a position. */
function lineOf(source: string, position: number): number {
  let line = 1;
  for (let i = source.indexOf('\n'); i !== -1 && i < position; ) {
    line++;
    i = source.indexOf('\n', i + 1);
  }
  return line;
}

/** The repository's source files, outside test/, as git lists them. */
function repositorySources(root: string): SourceText[] {
  const listed = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard'],
    { cwd: root, encoding: 'utf8' },
  );
  return listed
    .split('\n')
    .filter((path) => SOURCE_EXTENSION.test(path) && !path.startsWith('test/'))
    .map((path) => ({ path, source: readFileSync(join(root, path), 'utf8') }));
}

function print(report: SizeReport, read: number): void {
  console.log(`Files over ${MAX_FILE_LINES} lines: ${report.files.length}`);
  for (const file of [...report.files].sort((a, b) => b.lines - a.lines)) {
    console.log(`  ${String(file.lines).padStart(5)}  ${file.path}`);
  }
  console.log(
    `Functions over ${MAX_FUNCTION_LINES} lines: ${report.functions.length}`,
  );
  const functions = [...report.functions].sort((a, b) => b.lines - a.lines);
  for (const fn of functions) {
    const where = `${fn.path}:${fn.line}`;
    console.log(`  ${String(fn.lines).padStart(5)}  ${where}  ${fn.name}`);
  }
  console.log(
    `${read} source files read outside test/; left out (generated or a size: reason): ${
      report.exempt.length === 0 ? 'none' : report.exempt.join(', ')
    }`,
  );
}

if (import.meta.main) {
  const sources = repositorySources(join(import.meta.dirname, '..'));
  print(measureSizes(sources), sources.length);
}
