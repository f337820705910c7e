/**
 * The sync bench's child processes: the emulator (the CLI, as a user runs it), DynamoDB Local for the memory
 * run, and the sync worker, each killed on the way out whatever happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { WorkerInput, WorkerResult } from '../sync-worker';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Child {
  readonly process: ChildProcess;
  readonly url: string;
}

const running = new Set<ChildProcess>();
/** Last resort if the benchmark dies without reaching its `finally`: never leave an emulator behind. */
export const killRunning = () => {
  for (const child of running) child.kill('SIGKILL');
};

/**
 * Starts a Node child (`args` after the node binary) and resolves with the first `http://host:port` it
 * prints. `background` runs it under `nice -n 19`, inherited by everything it starts (the JVM of DynamoDB
 * Local, tsx's esbuild), so it only takes CPU the measured foreground leaves idle.
 */
export function spawnNode(
  args: readonly string[],
  options: { background?: boolean; env?: NodeJS.ProcessEnv } = {},
) {
  const [command, commandArgs] = options.background
    ? ['nice', ['-n', '19', process.execPath, ...args]]
    : [process.execPath, [...args]];
  const child = spawn(command as string, commandArgs as string[], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(options.env ? { env: options.env } : {}),
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

export function waitForUrl(child: ChildProcess, what: string): Promise<Child> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => reject(new Error(`${what} printed no URL within 60 s`)), 60_000);
    lines.on('line', (line) => {
      const url = /http:\/\/[\d.]+:\d+/.exec(line)?.[0];
      if (url) {
        clearTimeout(timer);
        resolve({ process: child, url });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited early with ${code}`));
    });
  });
}

export function startEmulator(quotaScale: number, background = false): Promise<Child> {
  const args = [
    'bin/chime-lifecycle.js',
    'emulator',
    '--port',
    '0',
    '--quota-scale',
    String(quotaScale),
    // AWS's 6 h: nobody in the population is expired, so the sweeper never deletes a user mid-run.
    '--expiry-delay-seconds',
    '21600',
  ];
  return waitForUrl(spawnNode(args, { background }), 'emulator');
}

export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Runs bench/sync-worker.ts (through tsx, like `npm run bench`) and returns its RESULT line. */
export function runWorker(input: WorkerInput, background: boolean): Promise<WorkerResult> {
  const child = spawnNode(['--import', 'tsx', 'bench/sync-worker.ts'], {
    background,
    env: { ...process.env, BENCH_SYNC_WORKER: JSON.stringify(input) },
  });
  return new Promise((resolve, reject) => {
    let result: WorkerResult | undefined;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.startsWith('RESULT ')) result = JSON.parse(line.slice('RESULT '.length)) as WorkerResult;
    });
    child.once('exit', (code) => {
      if (code === 0 && result) resolve(result);
      else reject(new Error(`sync worker exited with ${code}${result ? '' : ' and no result'}`));
    });
  });
}
