import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort } from './free-port';
import { PortInUseError, portHolders } from './port-owner';

/** How a child process ended: its exit code, or the signal that ended it. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DynamoDbLocal {
  readonly url: string;
  readonly port: number;
  /** The Java process. */
  readonly pid: number;
  /** Resolves when the Java process ends, for whatever reason (close() included). */
  readonly exited: Promise<ChildExit>;
  close(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Keep data in memory (default) or in this directory. */
  readonly dbPath?: string;
  readonly startTimeoutMs?: number;
  /**
   * Run it in its own process group (default false). The offline stack does, so that a Ctrl-C in the
   * terminal reaches only the stack, which then stops DynamoDB Local last, after the functions that use it
   * (otherwise a reconcile in flight would fail on a vanished table); its reaper covers a stack that dies.
   */
  readonly ownProcessGroup?: boolean;
  /** Called with the Java process's pid as soon as it is spawned (to record it before it is even up). */
  readonly onSpawn?: (pid: number) => void | Promise<void>;
}

/**
 * Starts Amazon DynamoDB Local (the official jar, shipped inside amplify-dynamodb-simulator) on Java 17+.
 * `-sharedDb` makes every access key and region see the same tables, which the Lambdas, the CLI and the
 * tests need because each may run with different dummy credentials.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const host = options.host ?? '127.0.0.1';
  // DynamoDB Local does not fail when its port is taken (the JVM just keeps running), so we pick a
  // port that is free right now rather than trusting the process to report a bind error.
  const port = options.port && options.port > 0 ? options.port : await freePort(host);
  const require = createRequire(import.meta.url);
  const jarDir = path.join(
    path.dirname(require.resolve('amplify-dynamodb-simulator/package.json')),
    'emulator',
  );
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  const args = [
    '-Djava.library.path=./DynamoDBLocal_lib',
    '-Xms64m',
    '-jar',
    'DynamoDBLocal.jar',
    ...storage,
    '-sharedDb',
    '-disableTelemetry',
    '-port',
    String(port),
  ];
  if (options.dbPath) await mkdir(options.dbPath, { recursive: true });
  const child = spawn(process.env.JAVA ?? 'java', args, {
    cwd: jarDir,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  if (child.pid !== undefined) await options.onSpawn?.(child.pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<ChildExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const url = `http://${host}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    const outcome = await Promise.race([
      probe(url).then((ok) => (ok ? 'up' : 'down')),
      exited.then(() => 'exited'),
      spawnError.then((error) => error),
    ]);
    if (outcome === 'up') {
      // Something answered: make sure it is this DynamoDB Local and not another process on the port.
      const holders = await portHolders(port);
      if (holders.length > 0 && !holders.some((holder) => holder.pid === child.pid)) {
        await stop(child);
        throw new PortInUseError(
          { service: 'DynamoDB Local', port, flag: '--dynamodb-port' },
          holders.filter((holder) => holder.pid !== child.pid),
        );
      }
      break;
    }
    if (outcome instanceof Error) {
      throw new Error(`cannot start DynamoDB Local: ${outcome.message} (is Java 17+ installed and on PATH?)`);
    }
    if (outcome === 'exited') throw new Error(`DynamoDB Local exited during start-up: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      await stop(child);
      throw new Error(`DynamoDB Local did not answer on ${url} within the start-up timeout`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, port, pid: child.pid as number, exited, close: () => stop(child) };
}

async function probe(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(500) });
    return true;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}
