import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  functionOffenders,
  functionSpans,
  MAX_FUNCTION_LINES,
  readSources,
  sourceFilesOutsideTest,
} from '../../support/source-size';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const LIMIT = MAX_FUNCTION_LINES;

/** `count` statements, one per line. */
const body = (count: number) => Array.from({ length: count }, (_, index) => `  use(${index});`).join('\n');

/**
 * A function of each syntactic kind, `lines` long from its first token to its closing brace (both lines
 * counted: the header line, `lines - 2` statements, the closing line).
 */
const kinds = (lines: number): [kind: string, source: string, name: string][] => [
  ['function declaration', `export function long() {\n${body(lines - 2)}\n}\n`, 'long'],
  ['async function declaration', `async function long() {\n${body(lines - 2)}\n}\n`, 'long'],
  ['class method', `class Service {\n  handle() {\n${body(lines - 2)}\n  }\n}\n`, 'Service.handle'],
  ['constructor', `class Service {\n  constructor() {\n${body(lines - 2)}\n  }\n}\n`, 'Service.constructor'],
  ['getter', `class Service {\n  get value() {\n${body(lines - 2)}\n  }\n}\n`, 'get Service.value'],
  ['arrow function', `const long = () => {\n${body(lines - 2)}\n};\n`, 'long'],
  ['function expression', `const long = function () {\n${body(lines - 2)}\n};\n`, 'long'],
  ['named function expression', `const x = function long() {\n${body(lines - 2)}\n};\n`, 'long'],
  ['object method', `const table = {\n  create() {\n${body(lines - 2)}\n  },\n};\n`, 'table.create'],
  [
    'arrow function as object property',
    `const table = {\n  create: () => {\n${body(lines - 2)}\n  },\n};\n`,
    'table.create',
  ],
  ['callback', `describe('x', () => {\n${body(lines - 2)}\n});\n`, '<anonymous, passed to describe>'],
  [
    'method-chain callback',
    `program.command('x').action(async () => {\n${body(lines - 2)}\n});\n`,
    '<anonymous, passed to ….action>',
  ],
];

describe('function size (issue 22)', () => {
  it(`no function outside test/ is longer than ${LIMIT} lines`, () => {
    const files = readSources(ROOT, sourceFilesOutsideTest(ROOT));
    expect(files.size).toBeGreaterThan(150);
    expect(functionOffenders(files)).toEqual([]);
    // Parsing every source file takes a few seconds on a loaded two-core machine; this is not a timing test.
  }, 60_000);

  it.each(
    kinds(LIMIT + 1),
  )('reports a %s one line over the limit, with file, line, name and count', (_kind, source, name) => {
    const line = source.startsWith('class') || source.startsWith('const table') ? 2 : 1;
    expect(functionOffenders(new Map([['bench/long.ts', source]]))).toEqual([
      `bench/long.ts:${line} ${name}: ${LIMIT + 1} lines (limit ${LIMIT})`,
    ]);
  });

  it.each(kinds(LIMIT))('does not report a %s at the limit', (_kind, source) => {
    expect(functionOffenders(new Map([['bench/long.ts', source]]))).toEqual([]);
  });

  it('measures JavaScript too', () => {
    const source = `module.exports = function () {\n${body(LIMIT - 1)}\n};\n`;
    expect(functionOffenders(new Map([['bin/tool.js', source]]))).toEqual([
      `bin/tool.js:1 module.exports: ${LIMIT + 1} lines (limit ${LIMIT})`,
    ]);
  });

  it('counts from the first token, not the leading comment, and names nested functions by their enclosers', () => {
    const source = [
      '/**',
      ' * A comment the span leaves out.',
      ' */',
      'export function outer() {',
      '  const inner = () => {',
      '    return 1;',
      '  };',
      '  class Local {',
      '    run() {}',
      '  }',
      '  return [inner, Local];',
      '}',
      'export default function () {}',
      'function overload(a: string): void;',
      'function overload(a: unknown) {}',
    ].join('\n');
    expect(functionSpans('shared/x.ts', source)).toEqual([
      { name: 'outer', line: 4, lines: 9 },
      { name: 'outer > inner', line: 5, lines: 3 },
      { name: 'outer > Local.run', line: 9, lines: 1 },
      { name: 'default export', line: 13, lines: 1 },
      { name: 'overload', line: 15, lines: 1 },
    ]);
  });
});
