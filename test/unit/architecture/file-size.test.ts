import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  fileOffenders,
  lineCount,
  MAX_FILE_LINES,
  readSources,
  sourceFilesOutsideTest,
} from '../../support/source-size';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('file size (issues 10 and 22)', () => {
  const paths = sourceFilesOutsideTest(ROOT);

  it('sees every source folder outside test/, .ts and .js files alike, and nothing under test/ or node_modules/', () => {
    const folders = new Set(paths.map((path) => path.split('/')[0]));
    for (const folder of ['bench', 'bin', 'cli', 'emulator', 'functions', 'local', 'scripts', 'shared']) {
      expect(folders, folder).toContain(folder);
    }
    expect(paths).toContain('bin/chime-lifecycle.js');
    expect(paths).toContain('vitest.config.ts');
    expect(paths.filter((path) => path.startsWith('test/') || path.includes('node_modules/'))).toEqual([]);
    expect(paths.length).toBeGreaterThan(150);
  });

  it(`no source file outside test/ has more than ${MAX_FILE_LINES} lines`, () => {
    expect(fileOffenders(readSources(ROOT, paths))).toEqual([]);
  });

  it('reports a file one line over the limit, with its count, and not one at the limit', () => {
    const lines = (count: number) => 'x\n'.repeat(count);
    const files = new Map([
      ['shared/at-limit.ts', lines(MAX_FILE_LINES)],
      ['bench/over.ts', lines(MAX_FILE_LINES + 1)],
      ['bin/no-final-newline.js', `${lines(MAX_FILE_LINES)}x`],
    ]);
    expect(fileOffenders(files)).toEqual([
      `bench/over.ts: ${MAX_FILE_LINES + 1} lines (limit ${MAX_FILE_LINES})`,
      `bin/no-final-newline.js: ${MAX_FILE_LINES + 1} lines (limit ${MAX_FILE_LINES})`,
    ]);
  });

  it.each([
    ['', 0],
    ['x', 1],
    ['x\n', 1],
    ['x\ny', 2],
    ['\n\n', 2],
  ])('counts %j as %i lines', (text, expected) => {
    expect(lineCount(text)).toBe(expected);
  });
});
