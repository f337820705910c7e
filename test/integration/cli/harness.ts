import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { environmentFor } from '../../../local/environment';
import { type LocalEventBridge, startLocalEventBridge } from '../../../local/eventbridge-server';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { Runtime } from '../../../shared/composition-root';
import { loadConfig } from '../../../shared/config';
import { type ChimeEmulator, startTestEmulator } from '../../support/chime';
import { dynamoDbUrl } from '../../support/context';
import { uniqueConfig } from '../../support/stack';

export const BIN = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'chime-lifecycle.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI as a user does: a separate process, configured only through its environment. */
export function runCli(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
  options: { readonly input?: string; readonly nodeArgs?: readonly string[] } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...(options.nodeArgs ?? []), BIN, ...args],
      { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? -1) : 0;
        resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

export interface CliStack {
  readonly emulator: ChimeEmulator;
  readonly env: NodeJS.ProcessEnv;
  readonly dir: string;
  /** The same configuration in this process, to look at what the CLI did (e.g. a user's expiration). */
  readonly runtime: Runtime;
  /** The bus the CLI publishes to (every event it received). */
  readonly eventBridge: LocalEventBridge;
  cli(...args: string[]): Promise<CliResult>;
  /** Writes a file in the test's directory: a value as indented JSON, a string or bytes as given. */
  write(name: string, value: unknown): Promise<string>;
  close(): Promise<void>;
}

/** Real local servers (DynamoDB Local, the Chime emulator, fauxqs, EventBridge) and fresh tables and queues. */
export async function startCliStack(): Promise<CliStack> {
  const emulator = await startTestEmulator(50);
  const sqs: SqsServer = await startSqsServer({ port: 0 });
  const eventBridge: LocalEventBridge = await startLocalEventBridge();
  const dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-cli-'));
  const config = uniqueConfig({ quotaScale: 50 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...environmentFor(config, {
      dynamodb: dynamoDbUrl(),
      chime: emulator.url,
      sqs: sqs.url,
      eventbridge: eventBridge.url,
    }),
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    CHIME_LIFECYCLE_QUOTA_SCALE: '50',
  };
  const cli = (...args: string[]) => runCli(env, args);
  const init = await cli('local', 'init', '--json');
  if (init.code !== 0) throw new Error(`local init failed: ${init.stderr}`);
  const runtime = new Runtime(loadConfig(env), {
    endpoints: { dynamodb: dynamoDbUrl(), chime: emulator.url },
  });
  return {
    emulator,
    env,
    dir,
    runtime,
    eventBridge,
    cli,
    async write(name, value) {
      const file = path.join(dir, name);
      await writeFile(
        file,
        typeof value === 'string' || value instanceof Uint8Array ? value : JSON.stringify(value, null, 2),
      );
      return file;
    },
    async close() {
      runtime.destroy();
      await rm(dir, { recursive: true, force: true });
      await emulator.close();
      await sqs.close();
      await eventBridge.close();
    },
  };
}
