import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildCli, CliBuildError, freshEntry } from '../../../bin/cli-build.js';

/**
 * The CLI's bundle is rebuilt whenever what it was built from changed, and only then: a stale bundle must
 * never run old code after an edit. Each case builds a small project of its own with the real esbuild.
 */
describe('the CLI bundle and its freshness', () => {
  let root: string;
  let cacheDir: string;
  /** Files are written before the build starts; no margin is needed on this filesystem's timestamps. */
  const build = () => buildCli({ root, cacheDir, entry: 'src/main.ts', changedDuringBuildMarginMs: 0 });
  const fresh = () => freshEntry({ root, cacheDir });
  const write = async (file: string, text: string) => {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  };
  /** Timestamps are compared to the build's start in milliseconds: leave one between a write and a build. */
  const settle = () => sleep(5);

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'cli-build-'));
    cacheDir = path.join(root, 'cache');
    await write('tsconfig.json', '{}\n');
    await write(
      'src/main.ts',
      "import { value } from './dep';\nexport const where = import.meta.dirname;\nexport const answer: number = value;\n",
    );
    await write('src/dep.ts', 'export const value = 1;\n');
    await settle();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is missing until built, then fresh, and runs with its sources’ own location', async () => {
    expect(fresh()).toBeNull();
    const entry = await build();
    expect(fresh()).toBe(entry);
    const module = (await import(pathToFileURL(entry).href)) as { answer: number; where: string };
    expect(module.answer).toBe(1);
    // import.meta.dirname names the source's folder, not the bundle's.
    expect(module.where).toBe(path.join(root, 'src'));
    const manifest = JSON.parse(await readFile(path.join(cacheDir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.stamps)).toEqual(
      expect.arrayContaining(['src/main.ts', 'src/dep.ts', 'src', 'tsconfig.json']),
    );
  });

  it('is stale after an edit of any module it imports, even with the old mtime put back', async () => {
    await build();
    const before = await stat(path.join(root, 'src/dep.ts'));
    await write('src/dep.ts', 'export const value = 2;\n');
    expect(fresh()).toBeNull();
    // Same size, same mtime as before (as `cp -p`, `tar x` or `touch -d` leave it): the ctime still differs.
    await utimes(path.join(root, 'src/dep.ts'), before.atime, before.mtime);
    expect(fresh()).toBeNull();
    await settle();
    const entry = await build();
    expect(fresh()).toBe(entry);
    expect(((await import(pathToFileURL(entry).href)) as { answer: number }).answer).toBe(2);
  });

  it('is stale when a new file beside an imported module could change what an import resolves to', async () => {
    await build();
    // esbuild tries .tsx before .ts: `./dep` now means dep.tsx, although no file the bundle read changed.
    await write('src/dep.tsx', 'export const value = 3;\n');
    expect(fresh()).toBeNull();
    await settle();
    const entry = await build();
    expect(((await import(pathToFileURL(entry).href)) as { answer: number }).answer).toBe(3);
  });

  it('is stale when an input is deleted, tsconfig.json changes, or the project moved', async () => {
    await build();
    expect(freshEntry({ root: `${root}/.`, cacheDir })).not.toBeNull();
    expect(freshEntry({ root: path.join(root, 'elsewhere'), cacheDir })).toBeNull();
    await write('tsconfig.json', '{ "compilerOptions": {} }\n');
    expect(fresh()).toBeNull();
    await settle();
    await build();
    expect(fresh()).not.toBeNull();
    await rm(path.join(root, 'src/dep.ts'));
    expect(fresh()).toBeNull();
  });

  it('records a file that may have changed while esbuild read it as unknown, so the next start builds again', async () => {
    // Written just now: within the default margin of the build's start.
    const entry = await buildCli({ root, cacheDir, entry: 'src/main.ts' });
    expect(existsSync(entry)).toBe(true);
    expect(fresh()).toBeNull();
    const manifest = JSON.parse(await readFile(path.join(cacheDir, 'manifest.json'), 'utf8'));
    expect(manifest.stamps['src/dep.ts']).toBe('changed-during-build');
  });

  it('fails with esbuild’s file:line:column and text, building nothing', async () => {
    await write('src/dep.ts', 'export const value = ;\n');
    const failure = await build().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CliBuildError);
    expect((failure as Error).message).toMatch(
      /^cannot build the CLI from its TypeScript sources: src\/dep\.ts:1:\d+: Unexpected ";"/,
    );
    expect(fresh()).toBeNull();
    expect(await readdir(path.join(cacheDir, 'builds')).catch(() => [])).toEqual([]);
    expect(existsSync(path.join(cacheDir, 'build.lock'))).toBe(false);
  });

  it('builds once when several processes find it stale at once: the others wait and use that bundle', async () => {
    const entries = await Promise.all([build(), build(), build()]);
    expect(new Set(entries).size).toBe(1);
    expect(fresh()).toBe(entries[0]);
    expect(await readdir(path.join(cacheDir, 'builds'))).toHaveLength(1);
    expect(existsSync(path.join(cacheDir, 'build.lock'))).toBe(false);
  });

  it('takes over a lock whose builder is gone, or that is older than two minutes', async () => {
    const lock = path.join(cacheDir, 'build.lock');
    // A pid that cannot be running (above Linux's pid_max).
    await mkdir(lock, { recursive: true });
    await writeFile(path.join(lock, 'pid'), '99999999');
    expect(fresh()).toBeNull();
    const entry = await build();
    expect(fresh()).toBe(entry);
    expect(existsSync(lock)).toBe(false);

    await write('src/dep.ts', 'export const value = 5;\n');
    await settle();
    await mkdir(lock);
    await writeFile(path.join(lock, 'pid'), String(process.pid)); // alive, but the lock is old
    const longAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(lock, longAgo, longAgo);
    expect(((await import(pathToFileURL(await build()).href)) as { answer: number }).answer).toBe(5);
    expect(existsSync(lock)).toBe(false);
  });

  it('removes builds superseded more than a day ago, keeping the one just superseded', async () => {
    const first = await build();
    const old = path.join(cacheDir, 'builds', 'an-old-build');
    await mkdir(old);
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3_600_000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    // The current build was made long ago too; being superseded starts its day of grace.
    await utimes(path.dirname(first), twoDaysAgo, twoDaysAgo);
    await mkdir(path.join(cacheDir, 'compiled', 'v8'), { recursive: true });
    await write('src/dep.ts', 'export const value = 4;\n');
    await settle();
    const second = await build();
    const builds = await readdir(path.join(cacheDir, 'builds'));
    expect(builds.sort()).toEqual(
      [path.basename(path.dirname(first)), path.basename(path.dirname(second))].sort(),
    );
    // Node's compile cache held entries of the removed build: emptied with it.
    expect(existsSync(path.join(cacheDir, 'compiled'))).toBe(false);
  });
});
