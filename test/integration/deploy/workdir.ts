import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVERLESS_BIN = join(ROOT, 'node_modules/serverless/bin/serverless.js');

/** What `serverless package` / `offline` read: the service file, the infra definitions and the sources. */
const DEPLOYABLE = ['serverless.ts', 'package.json', 'tsconfig.json', 'infra', 'functions', 'shared'];

export interface WorkDir {
  readonly path: string;
  /** An empty HOME: no ~/.aws, no ~/.serverless. */
  readonly home: string;
  remove(): void;
}

/**
 * A temporary copy of the deployable sources with node_modules linked, so each run's .serverless and .esbuild
 * are its own and never meet another run's (tests run in parallel; a developer may be running offline).
 */
export function createWorkDir(): WorkDir {
  const path = mkdtempSync(join(tmpdir(), 'chime-lifecycle-sls-'));
  for (const entry of DEPLOYABLE) cpSync(join(ROOT, entry), join(path, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(path, 'node_modules'), 'dir');
  const home = join(path, '.home');
  mkdirSync(home);
  return { path, home, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * The environment of an offline Serverless run: dummy credentials, no profile, no endpoints or project
 * settings from the caller's shell; `extra` adds what the run needs.
 */
export function offlineEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('AWS_') || key.startsWith('CHIME_LIFECYCLE_') || key.startsWith('SLS_')) continue;
    env[key] = value;
  }
  return {
    ...env,
    HOME: home,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    ...extra,
  };
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(output);
      else reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
}
