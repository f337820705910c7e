import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createBrotliDecompress } from 'node:zlib';

/**
 * The headless Chromium the report test opens pages in comes with `npm ci`: the devDependency
 * @sparticuz/chromium ships a Chromium build inside its package (brotli-compressed, no install script), with
 * the NSS libraries, SwiftShader and a font it needs, so it runs on a machine that has nothing but Node,
 * npm and glibc. It is unpacked once per version into node_modules/.cache (about 4 s, 230 MB).
 *
 * The package's own `executablePath()` unpacks into the shared /tmp under fixed names (two checkouts' test
 * runs would race, and an older version left there would be used), so it is unpacked here into a folder of
 * its version, completed under a temporary name and renamed into place.
 */
export interface Browser {
  readonly executablePath: string;
  /** The environment to launch it with: its own libraries and fonts, nothing of the system's. */
  readonly env: NodeJS.ProcessEnv;
}

const PACKAGE = '@sparticuz/chromium';

export async function bundledChromium(): Promise<Browser> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `${PACKAGE} ships a linux-x64 Chromium; this is ${process.platform}-${process.arch}, where the report test cannot open its page`,
    );
  }
  // The package keeps its archives in bin/, beside build/ where its entry is.
  const entry = fileURLToPath(import.meta.resolve(PACKAGE));
  const packageDir = path.resolve(path.dirname(entry), '..');
  const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const root = path.resolve(import.meta.dirname, '..', '..', '..');
  const dir = path.join(root, 'node_modules', '.cache', `sparticuz-chromium-${version}`);
  if (!existsSync(path.join(dir, 'chromium'))) await unpack(path.join(packageDir, 'bin'), dir);
  return {
    executablePath: path.join(dir, 'chromium'),
    env: {
      ...process.env,
      LD_LIBRARY_PATH: path.join(dir, 'lib'),
      FONTCONFIG_FILE: path.join(dir, 'fonts.conf'),
    },
  };
}

async function unpack(archives: string, dir: string): Promise<void> {
  const temporary = `${dir}.${process.pid}-${Date.now()}`;
  await mkdir(temporary, { recursive: true });
  try {
    await pipeline(
      createReadStream(path.join(archives, 'chromium.br')),
      createBrotliDecompress(),
      createWriteStream(path.join(temporary, 'chromium'), { mode: 0o755 }),
    );
    // lib/: NSS and expat; beside the binary: SwiftShader (software GL); fonts/: Open Sans.
    for (const archive of ['al2023.tar.br', 'swiftshader.tar.br', 'fonts.tar.br']) {
      await untar(path.join(archives, archive), temporary);
    }
    await writeFile(
      path.join(temporary, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig><dir>${path.join(dir, 'fonts')}</dir><cachedir>${path.join(dir, 'fontconfig-cache')}</cachedir></fontconfig>\n`,
    );
    await rename(temporary, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another test process unpacked the same version first: theirs is as good.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}

/**
 * Unpacks a brotli-compressed tar with the system's tar (part of every Linux), decompressed by Node's brotli
 * into a file first. Piping into tar's stdin raced: tar exits once it reads the end-of-archive blocks, before
 * the padding after them is written, and the pipeline then failed with "Premature close" (a CI run did).
 */
async function untar(archive: string, into: string): Promise<void> {
  const tarFile = path.join(into, `${path.basename(archive, '.br')}.partial`);
  await pipeline(createReadStream(archive), createBrotliDecompress(), createWriteStream(tarFile));
  try {
    const tar = spawn('tar', ['-x', '-f', tarFile, '-C', into], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      tar.once('error', reject);
      tar.once('close', resolve);
    });
    if (code !== 0) throw new Error(`tar -x of ${archive} failed (exit ${code}): ${stderr.trim()}`);
  } finally {
    await rm(tarFile, { force: true });
  }
}
