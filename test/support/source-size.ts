import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Size limits of the engineering standards (issue 22, "No monoliths"): no source file over 400 lines and no
 * function over 120 lines anywhere outside test/. test/unit/architecture/file-size.test.ts and
 * function-size.test.ts check them on every source file of the repository.
 */
export const MAX_FILE_LINES = 400;
export const MAX_FUNCTION_LINES = 120;

/** What counts as source: TypeScript and JavaScript, whatever the module flavour. */
const SOURCE_FILE = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;

/**
 * Top-level entries that hold no source of ours: tests (the limits are for the product and its tooling),
 * installed packages, and the generated outputs .gitignore names (coverage, tmp, test-artifacts; the dotted
 * ones such as .esbuild, .serverless and .local are skipped with every other dot-entry, .git included).
 */
const NOT_SOURCE_AT_ROOT = new Set(['test', 'node_modules', 'coverage', 'tmp', 'test-artifacts']);

/** Every source file of the repository outside test/, as repository-relative paths, sorted. */
export function sourceFilesOutsideTest(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const path = join(dir, entry.name);
      if (dir === root && NOT_SOURCE_AT_ROOT.has(entry.name)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && SOURCE_FILE.test(entry.name)) found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}

/** Path → text of each file. */
export function readSources(root: string, paths: readonly string[]): Map<string, string> {
  return new Map(paths.map((path) => [path, readFileSync(join(root, path), 'utf8')] as const));
}

/** Lines as an editor numbers them: a final newline ends the last line rather than starting another. */
export function lineCount(text: string): number {
  if (text === '') return 0;
  const lines = text.split('\n').length;
  return text.endsWith('\n') ? lines - 1 : lines;
}

/** Each file longer than `limit`, as `path: N lines (limit L)`. */
export function fileOffenders(files: ReadonlyMap<string, string>, limit = MAX_FILE_LINES): string[] {
  const out: string[] = [];
  for (const [path, text] of files) {
    const lines = lineCount(text);
    if (lines > limit) out.push(`${path}: ${lines} lines (limit ${limit})`);
  }
  return out;
}

export interface FunctionSpan {
  /**
   * How a reader finds it: `name`, `Class.method`, `object.key`, `<anonymous, passed to f>`, each prefixed
   * with the functions around it (`outer > inner`).
   */
  readonly name: string;
  /** 1-based line of the function's first token (its leading comment is not part of it). */
  readonly line: number;
  /** Lines from its first to its last token, both included. */
  readonly lines: number;
}

function scriptKind(path: string): ts.ScriptKind {
  if (/\.[cm]?js$/.test(path)) return ts.ScriptKind.JS;
  if (path.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (path.endsWith('.tsx')) return ts.ScriptKind.TSX;
  return ts.ScriptKind.TS;
}

function propertyNameText(name: ts.PropertyName | ts.BindingName): string | undefined {
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name)) return name.text;
  if (ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name)) return `[${name.expression.getText()}]`;
  return undefined;
}

/** The name of the class or object literal a member belongs to, when it has one. */
function ownerName(member: ts.Node): string | undefined {
  const owner = member.parent;
  if (ts.isClassLike(owner)) return owner.name?.text ?? nameOfExpression(owner);
  if (ts.isObjectLiteralExpression(owner)) return nameOfExpression(owner);
  return undefined;
}

/** A call's callee, short: `f`, `object.method`, or `….method` at the end of a chain of calls. */
function calleeText(callee: ts.Expression): string {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) {
    const head = callee.expression;
    const prefix = ts.isIdentifier(head) || head.kind === ts.SyntaxKind.ThisKeyword ? head.getText() : '…';
    return `${prefix}.${callee.name.text}`;
  }
  return 'an expression';
}

/** The name an expression (an arrow function, a function expression, an object literal) is bound to. */
function nameOfExpression(node: ts.Node): string | undefined {
  let current: ts.Node = node;
  // `(function () {})`, `x as T`, `x satisfies T`, `x!` keep the name of what they wrap.
  while (
    ts.isParenthesizedExpression(current.parent) ||
    ts.isAsExpression(current.parent) ||
    ts.isSatisfiesExpression(current.parent) ||
    ts.isNonNullExpression(current.parent)
  ) {
    current = current.parent;
  }
  const parent = current.parent;
  if (ts.isVariableDeclaration(parent)) return propertyNameText(parent.name);
  if (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    const key = propertyNameText(parent.name);
    const owner = ownerName(parent);
    return owner && key ? `${owner}.${key}` : key;
  }
  if (ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    return parent.left.getText();
  }
  if (ts.isExportAssignment(parent)) return 'default export';
  if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) {
    return `<anonymous, passed to ${calleeText(parent.expression)}>`;
  }
  return undefined;
}

function functionName(node: ts.FunctionLikeDeclaration): string {
  if (ts.isConstructorDeclaration(node)) return `${ownerName(node) ?? '<class>'}.constructor`;
  if (
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  ) {
    const key = propertyNameText(node.name) ?? '<computed>';
    const prefix = ts.isGetAccessorDeclaration(node)
      ? 'get '
      : ts.isSetAccessorDeclaration(node)
        ? 'set '
        : '';
    const owner = ownerName(node);
    return `${prefix}${owner ? `${owner}.` : ''}${key}`;
  }
  if (ts.isFunctionDeclaration(node)) return node.name?.text ?? 'default export';
  if (ts.isFunctionExpression(node) && node.name) return node.name.text;
  return nameOfExpression(node) ?? '<anonymous>';
}

function isMeasured(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    (ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node)) &&
    // An overload or an abstract/ambient declaration has no body: nothing to measure.
    node.body !== undefined
  );
}

/**
 * Every function with a body in a file (declarations, class and object methods, constructors, accessors,
 * arrow functions and function expressions), each with its span in lines, as the TypeScript parser sees it.
 * A nested function is measured on its own, and also counts in the span of the function around it.
 */
export function functionSpans(path: string, text: string): FunctionSpan[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, scriptKind(path));
  const spans: FunctionSpan[] = [];
  const lineOf = (position: number) => source.getLineAndCharacterOfPosition(position).line + 1;
  const visit = (node: ts.Node, enclosing: string | undefined) => {
    let inner = enclosing;
    if (isMeasured(node)) {
      const own = functionName(node);
      const name = enclosing ? `${enclosing} > ${own}` : own;
      const first = lineOf(node.getStart(source));
      spans.push({ name, line: first, lines: lineOf(node.getEnd()) - first + 1 });
      inner = name;
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, undefined);
  return spans;
}

/** Each function longer than `limit`, as `path:line name: N lines (limit L)`. */
export function functionOffenders(files: ReadonlyMap<string, string>, limit = MAX_FUNCTION_LINES): string[] {
  const out: string[] = [];
  for (const [path, text] of files) {
    for (const span of functionSpans(path, text)) {
      if (span.lines > limit)
        out.push(`${path}:${span.line} ${span.name}: ${span.lines} lines (limit ${limit})`);
    }
  }
  return out;
}
