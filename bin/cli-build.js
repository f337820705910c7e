// The CLI runs as JavaScript bundled by esbuild from its TypeScript sources, not through a loader that
// transpiles on every start (tsx took 1-2 s before `--version` could answer).
//
// Why built here, on first run and whenever a source changed, rather than by an npm script or committed:
// `npx chime-lifecycle` must work straight after `npm ci --ignore-scripts` (no install script may build it),
// generated code is not committed, and a build step people have to remember would let a stale bundle run
// old code after an edit. esbuild (a devDependency that works without install scripts) bundles the CLI in
// about a second; every later start only compares the recorded stamps of the bundle's inputs with the files.
//
// The packages it uses are bundled too (all but fauxqs, which only `local start` loads): Node then loads a
// few files instead of hundreds, and skips the CommonJS export scan and module-format detection it runs on
// each of the AWS SDK's files, which made up most of a command's start (`policy list` took twice as long).
// Each command is a chunk of its own, imported only when that command runs. One rule follows: a dynamic
// import() of a CommonJS package (the AWS SDK's clients) yields only its default export once bundled, so
// such packages are imported statically, from a module that is itself imported lazily.
//
// Freshness is sound, not guessed from a build time: the manifest records for every input file (the
// metafile's list: what esbuild really read, packages included), for every folder holding a code module (a
// new file there could change what an extensionless import resolves to) and for the builder itself,
// tsconfig.json and esbuild's version, a stamp of ctime, mtime, size and inode. ctime cannot be set back by
// tools that restore an old mtime (`cp -p`, `tar x`, `touch -d`), and a file saved by renaming a new one over
// it has a new inode. Any difference, a missing file or a moved checkout (the bundle holds absolute source
// paths) means a rebuild. A file whose stamp is not older than the build's start by a safe margin may have
// changed while esbuild read it: it is recorded as unknown, so the next start builds again.
//
// One process builds at a time (a lock folder; others wait for its bundle); each build goes to its own
// folder and the manifest is replaced atomically, so no process ever sees half a bundle; a superseded build
// is kept a day for processes still running it.
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

const MANIFEST_FORMAT = 3;
/** A stamp this close to the build's start may belong to an edit esbuild did not see (mtime granularity). */
const CHANGED_DURING_BUILD_MARGIN_MS = 2_000;
const UNKNOWN = 'changed-during-build';
/** How long a superseded build is kept for processes that still lazily import its chunks. */
const KEEP_SUPERSEDED_MS = 24 * 60 * 60 * 1_000;
/** A build lock older than this was left by a build that died: it is taken over. */
const STALE_LOCK_MS = 120_000;
const LOCK_POLL_MS = 50;
/** Loaded from node_modules at run time: fauxqs (the local SQS, `local start` only) reads files of its own. */
const EXTERNAL_PACKAGES = ['fauxqs'];
/**
 * Bundled CommonJS packages call `require` for Node's built-in modules; an ES module has none of its own.
 */
const REQUIRE_BANNER =
  "import { createRequire as __chimeLifecycleRequire } from 'node:module'; const require = __chimeLifecycleRequire(import.meta.url);";

export const ROOT = path.resolve(import.meta.dirname, '..');

/** Where the bundles and the manifest live: removed with node_modules, never committed. */
export function defaultCacheDir(root = ROOT) {
  return path.join(root, 'node_modules', '.cache', 'chime-lifecycle-cli');
}

/**
 * Files whose change changes the bundle although esbuild does not list them as inputs: this builder, the
 * project's tsconfig.json and the esbuild it imports (its version). Absolute paths stay absolute in the
 * manifest; the others are relative to the project.
 */
function builderInputs() {
  return [
    import.meta.filename,
    'tsconfig.json',
    createRequire(import.meta.url).resolve('esbuild/package.json'),
  ];
}

/** Node's compile cache for the bundle (module.enableCompileCache); emptied when old builds are removed. */
export function compileCacheDir(cacheDir = defaultCacheDir()) {
  return path.join(cacheDir, 'compiled');
}

function stampOf(file) {
  const stats = statSync(file, { throwIfNoEntry: false });
  if (!stats) return null;
  return `${stats.ctimeMs}/${stats.mtimeMs}/${stats.size}/${stats.ino}`;
}

/**
 * The entry file of the bundle when it was built from exactly the files there are now, or null. Cheap: one
 * JSON read and a stat per input (about 1,100 with the packages' files), no hashing.
 */
export function freshEntry({ root = ROOT, cacheDir = defaultCacheDir(root) } = {}) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(cacheDir, 'manifest.json'), 'utf8'));
  } catch {
    return null;
  }
  if (manifest?.format !== MANIFEST_FORMAT || manifest.root !== path.resolve(root)) return null;
  for (const [file, stamp] of Object.entries(manifest.stamps)) {
    if (stamp === UNKNOWN || stampOf(path.resolve(root, file)) !== stamp) return null;
  }
  return path.join(cacheDir, manifest.entry);
}

/** A build failure, with esbuild's own messages (file:line:column: text), meant to be printed as is. */
export class CliBuildError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CliBuildError';
  }
}

/**
 * esbuild copies code into the bundle, so `import.meta.dirname`/`url`/`filename` would name the bundle's
 * folder instead of the source file's (local/ finds reaper.js, examples/ and serverless.yml that way). Each
 * source file that uses them gets its own location written in as a literal.
 */
function sourceLocations() {
  return {
    name: 'source-locations',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.')) return undefined;
        return {
          loader: 'ts',
          contents: text
            .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(args.path)))
            .replaceAll('import.meta.filename', JSON.stringify(args.path))
            .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
        };
      });
    },
  };
}

/** Code modules are imported without extensions, so a new file beside one could take its place. */
const CODE = /\.[cm]?[jt]sx?$/;

function stampsOf(root, inputs, startedAt, margin) {
  const folders = inputs.filter((file) => CODE.test(file)).map((file) => path.dirname(file));
  const stamps = {};
  for (const file of [...new Set([...inputs, ...folders, ...builderInputs()])].sort()) {
    const stats = statSync(path.resolve(root, file), { throwIfNoEntry: false });
    const changedDuringBuild = !stats || Math.max(stats.ctimeMs, stats.mtimeMs) >= startedAt - margin;
    stamps[file] = changedDuringBuild ? UNKNOWN : stampOf(path.resolve(root, file));
  }
  return stamps;
}

/**
 * Bundles `entry` (and every module it imports, lazily imported ones as their own chunks) into a new build
 * folder, publishes it in the manifest and returns its entry file. When another process is building, waits
 * for it and returns its bundle if that one is fresh.
 */
export async function buildCli({
  root = ROOT,
  cacheDir = defaultCacheDir(root),
  entry = 'cli/main.ts',
  changedDuringBuildMarginMs = CHANGED_DURING_BUILD_MARGIN_MS,
} = {}) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new CliBuildError(
      `cannot build the CLI: esbuild (a devDependency) is not installed (${error.code ?? error.message}); run \`npm ci\``,
    );
  }
  const built = await underLock(cacheDir, () => freshEntry({ root, cacheDir }));
  if (built.entry) return built.entry;
  try {
    return await bundle(esbuild, { root, cacheDir, entry, changedDuringBuildMarginMs });
  } finally {
    await built.release();
  }
}

/**
 * Takes the build lock (a folder: mkdir is atomic, holding the builder's pid), or waits until whoever holds it
 * has published a bundle that `fresh()` accepts. A lock whose builder is gone (Ctrl-C, a crash), or older
 * than STALE_LOCK_MS, is taken over.
 */
async function underLock(cacheDir, fresh) {
  const lock = path.join(cacheDir, 'build.lock');
  await mkdir(cacheDir, { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), String(process.pid));
      // Someone may have published just before the lock was ours.
      const entry = fresh();
      const release = () => rm(lock, { recursive: true, force: true });
      if (entry) await release();
      return { entry, release };
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const entry = fresh();
    if (entry) return { entry, release: async () => {} };
    if (await abandoned(lock)) await rm(lock, { recursive: true, force: true });
    else await sleep(LOCK_POLL_MS);
  }
}

async function abandoned(lock) {
  const held = await stat(lock).catch(() => null);
  if (!held) return false;
  if (Date.now() - held.mtimeMs > STALE_LOCK_MS) return true;
  const pid = Number(await readFile(path.join(lock, 'pid'), 'utf8').catch(() => ''));
  // No pid yet: the holder has only just made the folder.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return error.code === 'ESRCH';
  }
}

async function bundle(esbuild, { root, cacheDir, entry, changedDuringBuildMarginMs }) {
  const startedAt = Date.now();
  const id = `${startedAt.toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const outdir = path.join(cacheDir, 'builds', id);
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: { main: entry },
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      external: EXTERNAL_PACKAGES,
      banner: { js: REQUIRE_BANNER },
      outdir,
      chunkNames: 'chunks/[name]-[hash]',
      // The cache is inside node_modules, where Node finds no package.json saying "module": .mjs says it,
      // instead of Node parsing each chunk to guess.
      outExtension: { '.js': '.mjs' },
      // Stack traces (--debug) name the sources, read from disk: the maps carry no copies of them.
      sourcemap: 'linked',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [sourceLocations()],
    });
  } catch (error) {
    await rm(outdir, { recursive: true, force: true });
    const problems = (error.errors ?? []).map((problem) =>
      problem.location
        ? `${problem.location.file}:${problem.location.line}:${problem.location.column}: ${problem.text}`
        : problem.text,
    );
    throw new CliBuildError(
      `cannot build the CLI from its TypeScript sources: ${problems.length > 0 ? problems.join('; ') : error.message}`,
    );
  }
  const manifest = {
    format: MANIFEST_FORMAT,
    root: path.resolve(root),
    entry: path.join('builds', id, 'main.mjs'),
    builtAt: new Date(startedAt).toISOString(),
    stamps: stampsOf(root, Object.keys(result.metafile.inputs), startedAt, changedDuringBuildMarginMs),
  };
  await publish(cacheDir, manifest, id);
  return path.join(outdir, 'main.mjs');
}

async function publish(cacheDir, manifest, id) {
  const file = path.join(cacheDir, 'manifest.json');
  const previous = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text),
    () => null,
  );
  // The build being replaced starts its day of grace now, whenever it was made.
  if (typeof previous?.entry === 'string') {
    const now = new Date();
    await utimes(path.join(cacheDir, path.dirname(previous.entry)), now, now).catch(() => {});
  }
  const temporary = `${file}.${id}`;
  await mkdir(cacheDir, { recursive: true });
  await writeFile(temporary, `${JSON.stringify(manifest, null, 1)}\n`);
  await rename(temporary, file);
  await prune(cacheDir, id);
}

async function prune(cacheDir, current) {
  const buildsDir = path.join(cacheDir, 'builds');
  const cutoff = Date.now() - KEEP_SUPERSEDED_MS;
  let removed = false;
  for (const name of await readdir(buildsDir).catch(() => [])) {
    if (name === current) continue;
    const folder = path.join(buildsDir, name);
    const stats = await stat(folder).catch(() => null);
    if (stats && stats.mtimeMs < cutoff) {
      await rm(folder, { recursive: true, force: true });
      removed = true;
    }
  }
  // Its entries for removed builds would stay forever; the current build's come back on its next runs.
  if (removed) await rm(compileCacheDir(cacheDir), { recursive: true, force: true });
}
