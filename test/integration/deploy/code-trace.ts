import { existsSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { ROOT } from './workdir';

/**
 * What a Lambda handler's code can reach, found from the source with the TypeScript compiler: the AWS SDK v3
 * operations it can send and the Powertools metrics it can emit. The IAM and dashboard tests compare the
 * deployed template with this, so a grant or a metric is justified by the code, not by a list kept by hand.
 *
 * Reachability is a call graph over this project's own code (functions/, shared/), followed from the
 * handler module:
 * - a reference to one of our functions, methods, accessors or classes reaches its body (a class reaches
 *   its constructor and field initialisers; methods are reached when they are referenced);
 * - a call through an interface (a port such as `deps.users.describe`) reaches the method of that name on
 *   every class of ours whose instances are assignable to the interface (class hierarchy analysis);
 * - a bundle would be too coarse: esbuild keeps whole classes, so the composition root alone would make
 *   every function "use" every command.
 * Leaves are the SDK's `XxxCommand` classes and `paginateXxx` functions (client packages and lib-dynamodb),
 * and the compiled JavaScript of any other library class or function that is reached (Powertools'
 * DynamoDBPersistenceLayer sends Get/Put/Update/DeleteItem itself).
 */

export interface SdkOperation {
  /** The client package without `@aws-sdk/client-`, e.g. `dynamodb`, `chime-sdk-identity`. */
  readonly client: string;
  /** The API operation, e.g. `GetItem`, `SendMessageBatch`. */
  readonly operation: string;
  /** Where the code names it (file:line), for failure messages. */
  readonly at: string;
  /**
   * For TransactWriteItems: the kinds of item the code puts in it (`Put`, `Update`, `Delete`,
   * `ConditionCheck`), read from the command's argument. IAM authorises a transaction per item kind.
   */
  readonly transactionItems?: readonly string[];
}

export interface MetricCall {
  /** Every name the call can emit (a conditional argument names several). */
  readonly names: readonly string[];
  readonly at: string;
}

export interface HandlerTrace {
  readonly operations: readonly SdkOperation[];
  readonly metrics: readonly MetricCall[];
  /** The literal argument of each `createMetrics(...)` call (the `function` dimension). */
  readonly metricsFunctions: readonly string[];
  /** Metric calls whose name is not a literal the trace can read (a test fails on these). */
  readonly unreadable: readonly string[];
}

const OWN_DIRS = ['functions', 'shared'].map((dir) => join(ROOT, dir) + sep);

/** lib-dynamodb's document commands and paginators wrap these DynamoDB operations. */
const DOCUMENT_OPERATIONS: Readonly<Record<string, string>> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  BatchExecuteStatement: 'BatchExecuteStatement',
  ExecuteStatement: 'ExecuteStatement',
  ExecuteTransaction: 'ExecuteTransaction',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};

function isOwnFile(fileName: string): boolean {
  const path = fileName.split('/').join(sep);
  return !path.endsWith('.d.ts') && OWN_DIRS.some((dir) => path.startsWith(dir));
}

function location(node: ts.Node): string {
  const file = node.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(node.getStart());
  return `${relative(ROOT, file.fileName)}:${line + 1}`;
}

function createProgram(entries: readonly string[]): ts.Program {
  const configPath = join(ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return ts.createProgram({ rootNames: [...entries], options: { ...parsed.options, noEmit: true } });
}

/** Traces each handler (path relative to the repository, e.g. `functions/x/handler.ts`). */
export function traceHandlers(handlers: readonly string[]): Map<string, HandlerTrace> {
  const entries = handlers.map((handler) => join(ROOT, handler));
  const program = createProgram(entries);
  const checker = program.getTypeChecker();
  const ownClasses = program
    .getSourceFiles()
    .filter((file) => isOwnFile(file.fileName))
    .flatMap((file) => collectClasses(file));
  const libraryScans = new Map<string, { client: string; operation: string }[]>();
  const traces = new Map<string, HandlerTrace>();
  for (const [index, entry] of entries.entries()) {
    const file = program.getSourceFile(entry);
    if (!file) throw new Error(`${entry} is not part of the program`);
    traces.set(handlers[index] as string, traceFrom(file));
  }
  return traces;

  function traceFrom(entry: ts.SourceFile): HandlerTrace {
    const operations: SdkOperation[] = [];
    const metrics: MetricCall[] = [];
    const metricsFunctions: string[] = [];
    const unreadable: string[] = [];
    const visited = new Set<ts.Node>();
    const modules = new Set<ts.SourceFile>();
    const pending: ts.Node[] = [];

    const reach = (node: ts.Node | undefined) => {
      if (node && !visited.has(node)) {
        visited.add(node);
        pending.push(node);
      }
    };
    const reachModule = (file: ts.SourceFile) => {
      if (modules.has(file) || !isOwnFile(file.fileName)) return;
      modules.add(file);
      // Module-level code runs on import: everything but declarations that only run when referenced.
      for (const statement of file.statements) {
        if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) continue;
        if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) continue;
        if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) continue;
        if (ts.isVariableStatement(statement)) {
          for (const declaration of statement.declarationList.declarations) {
            if (declaration.initializer && !isFunctionExpression(declaration.initializer)) {
              reach(declaration.initializer);
            }
          }
          continue;
        }
        reach(statement);
      }
    };

    reachModule(entry);
    while (pending.length > 0) {
      const node = pending.pop() as ts.Node;
      reachModule(node.getSourceFile());
      walk(node);
    }
    return { operations, metrics, metricsFunctions, unreadable };

    function walk(node: ts.Node): void {
      if (ts.isCallExpression(node)) inspectCall(node);
      if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) resolve(node);
      ts.forEachChild(node, walk);
    }

    function inspectCall(call: ts.CallExpression): void {
      const callee = call.expression;
      const name = ts.isPropertyAccessExpression(callee)
        ? callee.name
        : ts.isIdentifier(callee)
          ? callee
          : undefined;
      if (!name) return;
      const symbol = symbolOf(name);
      const declaration = symbol?.declarations?.[0];
      if (!declaration) return;
      const file = declaration.getSourceFile().fileName;
      if (name.text === 'addMetric' && file.includes('/@aws-lambda-powertools/metrics/')) {
        const names = literalStrings(call.arguments[0]);
        if (names.length === 0) unreadable.push(location(call));
        else metrics.push({ names, at: location(call) });
      }
      if (name.text === 'createMetrics' && isOwnFile(file)) {
        const names = literalStrings(call.arguments[0]);
        if (names.length === 1) metricsFunctions.push(names[0] as string);
        else unreadable.push(location(call));
      }
    }

    /** The string literals an expression can evaluate to: literals, conditionals and constants. */
    function literalStrings(expression: ts.Expression | undefined): string[] {
      if (!expression) return [];
      if (ts.isStringLiteralLike(expression)) return [expression.text];
      if (ts.isParenthesizedExpression(expression)) return literalStrings(expression.expression);
      if (ts.isConditionalExpression(expression)) {
        const whenTrue = literalStrings(expression.whenTrue);
        const whenFalse = literalStrings(expression.whenFalse);
        return whenTrue.length > 0 && whenFalse.length > 0 ? [...whenTrue, ...whenFalse] : [];
      }
      if (ts.isIdentifier(expression)) {
        const declaration = symbolOf(expression)?.declarations?.[0];
        if (declaration && ts.isVariableDeclaration(declaration) && declaration.initializer) {
          return literalStrings(declaration.initializer);
        }
      }
      return [];
    }

    function symbolOf(node: ts.Node): ts.Symbol | undefined {
      let symbol =
        node.parent && ts.isShorthandPropertyAssignment(node.parent) && node.parent.name === node
          ? checker.getShorthandAssignmentValueSymbol(node.parent)
          : checker.getSymbolAtLocation(node);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      return symbol;
    }

    function resolve(node: ts.Identifier | ts.PrivateIdentifier): void {
      const symbol = symbolOf(node);
      for (const declaration of symbol?.declarations ?? []) {
        const file = declaration.getSourceFile().fileName;
        if (isOwnFile(file)) reachDeclaration(declaration, node);
        else leaf(declaration, node);
      }
    }

    function reachDeclaration(declaration: ts.Declaration, at: ts.Node): void {
      if (
        ts.isFunctionDeclaration(declaration) ||
        ts.isMethodDeclaration(declaration) ||
        ts.isGetAccessorDeclaration(declaration) ||
        ts.isSetAccessorDeclaration(declaration) ||
        ts.isConstructorDeclaration(declaration)
      ) {
        reach(declaration.body);
      } else if (ts.isClassDeclaration(declaration)) {
        reachConstruction(declaration);
      } else if (
        (ts.isVariableDeclaration(declaration) || ts.isPropertyDeclaration(declaration)) &&
        declaration.initializer
      ) {
        reach(declaration.initializer);
      } else if (ts.isPropertyAssignment(declaration)) {
        reach(declaration.initializer);
      } else if (
        (ts.isMethodSignature(declaration) || ts.isPropertySignature(declaration)) &&
        ts.isPropertyAccessExpression(at.parent) &&
        at.parent.name === at
      ) {
        implementationsOf(declaration);
      }
    }

    function reachConstruction(declaration: ts.ClassDeclaration): void {
      for (const member of declaration.members) {
        if (ts.isConstructorDeclaration(member)) reach(member.body);
        if (ts.isPropertyDeclaration(member) && member.initializer) reach(member.initializer);
        if (ts.isClassStaticBlockDeclaration(member)) reach(member.body);
      }
      const base = declaration.heritageClauses?.find(
        (clause) => clause.token === ts.SyntaxKind.ExtendsKeyword,
      );
      for (const type of base?.types ?? []) reach(type.expression);
    }

    /** Class hierarchy analysis: the members of that name on our classes that satisfy the interface. */
    function implementationsOf(member: ts.MethodSignature | ts.PropertySignature): void {
      const owner = member.parent;
      const ownerType = ts.isInterfaceDeclaration(owner)
        ? checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(owner.name) as ts.Symbol)
        : checker.getTypeAtLocation(owner);
      const name = member.name.getText();
      for (const { declaration, type } of ownClasses) {
        const implementation = declaration.members.find(
          (candidate) => candidate.name?.getText() === name && !ts.isConstructorDeclaration(candidate),
        );
        if (!implementation) continue;
        if (!checker.isTypeAssignableTo(type(), ownerType)) continue;
        reachDeclaration(implementation, member.name);
      }
    }

    function leaf(declaration: ts.Declaration, at: ts.Node): void {
      const file = declaration.getSourceFile().fileName;
      const name = at.getText();
      const client = /\/@aws-sdk\/client-([a-z0-9-]+)\//.exec(file)?.[1];
      if (client) {
        const command = /^(\w+)Command$/.exec(name)?.[1];
        const paginated = /^paginate(\w+)$/.exec(name)?.[1];
        const operation = command ?? paginated;
        if (operation && ts.isClassDeclaration(declaration) === Boolean(command)) {
          operations.push({
            client,
            operation,
            at: location(at),
            ...(operation === 'TransactWriteItems' ? { transactionItems: transactionItemKinds(at) } : {}),
          });
        }
        return;
      }
      if (file.includes('/@aws-sdk/lib-dynamodb/')) {
        const wrapped = /^(\w+)Command$/.exec(name)?.[1] ?? /^paginate(\w+)$/.exec(name)?.[1];
        const operation = wrapped ? DOCUMENT_OPERATIONS[wrapped] : undefined;
        if (operation) operations.push({ client: 'dynamodb', operation, at: location(at) });
        return;
      }
      if (file.includes('/@aws-sdk/') || file.includes('/@smithy/') || file.includes('/typescript/lib/'))
        return;
      if (!ts.isClassDeclaration(declaration) && !ts.isFunctionDeclaration(declaration)) return;
      for (const found of scanLibrary(file)) {
        operations.push({ ...found, at: `${location(at)} (${relative(ROOT, file)})` });
      }
    }
  }

  /**
   * The item kinds named in the argument of `new TransactWriteItemsCommand({...})`: the property names
   * Put / Update / Delete / ConditionCheck anywhere in it. None readable is an error, not a guess.
   */
  function transactionItemKinds(at: ts.Node): string[] {
    const construction = at.parent;
    const kinds = new Set<string>();
    const visit = (node: ts.Node) => {
      if (ts.isPropertyAssignment(node) || ts.isShorthandPropertyAssignment(node)) {
        const name = node.name.getText();
        if (['Put', 'Update', 'Delete', 'ConditionCheck'].includes(name)) kinds.add(name);
      }
      ts.forEachChild(node, visit);
    };
    if (construction && ts.isNewExpression(construction)) {
      for (const argument of construction.arguments ?? []) visit(argument);
    }
    if (kinds.size === 0)
      throw new Error(`cannot read the item kinds of the TransactWriteItems at ${location(at)}`);
    return [...kinds].sort();
  }

  /** The SDK commands a library module constructs itself, read from its compiled JavaScript. */
  function scanLibrary(declarationFile: string): { client: string; operation: string }[] {
    const cached = libraryScans.get(declarationFile);
    if (cached) return cached;
    const javascript = declarationFile.replace(/\.d\.(c|m)?ts$/, '.$1js');
    const found: { client: string; operation: string }[] = [];
    if (existsSync(javascript)) {
      const source = readFileSync(javascript, 'utf8');
      const imports = /import\s*\{([^}]*)\}\s*from\s*['"]@aws-sdk\/client-([a-z0-9-]+)['"]/g;
      for (const [, names = '', client = ''] of source.matchAll(imports)) {
        for (const imported of names.split(',').map((part) => part.trim())) {
          const operation = /^(\w+)Command$/.exec(imported)?.[1];
          if (operation && new RegExp(`new\\s+${imported}\\s*\\(`).test(source)) {
            found.push({ client, operation });
          }
        }
      }
    }
    libraryScans.set(declarationFile, found);
    return found;
  }

  function collectClasses(file: ts.SourceFile): { declaration: ts.ClassDeclaration; type: () => ts.Type }[] {
    const classes: { declaration: ts.ClassDeclaration; type: () => ts.Type }[] = [];
    const visit = (node: ts.Node) => {
      if (ts.isClassDeclaration(node) && node.name) {
        const name = node.name;
        classes.push({
          declaration: node,
          type: () => checker.getDeclaredTypeOfSymbol(checker.getSymbolAtLocation(name) as ts.Symbol),
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
    return classes;
  }
}

function isFunctionExpression(node: ts.Expression): boolean {
  return ts.isArrowFunction(node) || ts.isFunctionExpression(node);
}
