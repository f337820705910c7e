import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Issue 10: a module of shared/ that grows past this is split along its seams, not left to grow. */
const MAX_LINES = 400;

/** Lines as an editor numbers them: a final newline ends the last line rather than starting another. */
function lineCount(text: string): number {
  if (text === '') return 0;
  const lines = text.split('\n').length;
  return text.endsWith('\n') ? lines - 1 : lines;
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Each file longer than `limit`, as `path: N lines (limit L)`. */
function offenders(files: ReadonlyMap<string, string>, limit: number): string[] {
  const out: string[] = [];
  for (const [path, text] of files) {
    const lines = lineCount(text);
    if (lines > limit) out.push(`${path}: ${lines} lines (limit ${limit})`);
  }
  return out;
}

describe('file size (issue 10)', () => {
  it(`no .ts file under shared/ has more than ${MAX_LINES} lines`, () => {
    const shared = join(ROOT, 'shared');
    const files = new Map(
      tsFilesUnder(shared).map((path) => [relative(ROOT, path), readFileSync(path, 'utf8')] as const),
    );
    expect(files.size).toBeGreaterThan(50);
    expect(offenders(files, MAX_LINES)).toEqual([]);
  });

  it('reports a file one line over the limit, with its count, and not one at the limit', () => {
    const lines = (count: number) => 'x\n'.repeat(count);
    const files = new Map([
      ['shared/at-limit.ts', lines(MAX_LINES)],
      ['shared/over.ts', lines(MAX_LINES + 1)],
      ['shared/no-final-newline.ts', `${lines(MAX_LINES)}x`],
    ]);
    expect(offenders(files, MAX_LINES)).toEqual([
      `shared/over.ts: ${MAX_LINES + 1} lines (limit ${MAX_LINES})`,
      `shared/no-final-newline.ts: ${MAX_LINES + 1} lines (limit ${MAX_LINES})`,
    ]);
  });
});
