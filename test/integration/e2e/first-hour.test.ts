import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../local/free-port';
import { canBind } from '../../../local/port-owner';

/**
 * Issue 21, the first hour with `npm start`, run as a user runs it (`chime-lifecycle local start` in its own
 * process group, as a terminal runs it; free ports; a temporary work directory): a Ctrl-C at any moment of
 * the start-up stops it with one line, exit 0 and nothing left behind; the examples work against the demo as
 * written; the operator's edits to the demo's policy files survive a restart.
 */

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'chime-lifecycle.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Ports = Record<'dynamodb' | 'sqs' | 'chime' | 'eventbridge' | 'lambda', number>;
const freePorts = async (): Promise<Ports> => ({
  dynamodb: await freePort(),
  sqs: await freePort(),
  chime: await freePort(),
  eventbridge: await freePort(),
  lambda: await freePort(),
});
const portFlags = (ports: Ports) =>
  Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)]);

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  log: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log().slice(-3000)}`);
    await sleep(50);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface PidFile {
  readonly pid: number;
  readonly children: readonly { readonly name: string; readonly pid: number }[];
}

class Start {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly dir: string,
    readonly ports: Ports,
    args: readonly string[],
  ) {
    this.child = spawn(
      process.execPath,
      [BIN, 'local', 'start', '--work-dir', dir, ...portFlags(ports), ...args],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const collect = (chunk: Buffer) => {
      this.output += chunk;
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async pidFile(): Promise<PidFile | undefined> {
    try {
      return JSON.parse(await readFile(path.join(this.dir, 'stack.pid'), 'utf8')) as PidFile;
    } catch {
      return undefined;
    }
  }

  /** Ctrl-C in its terminal: SIGINT to its process group. What it printed after, and its exit status. */
  async interrupt(): Promise<{ code: number | null | 'still running'; after: string }> {
    const before = this.output.length;
    process.kill(-(this.child.pid as number), 'SIGINT');
    const code = await Promise.race([this.exited, sleep(90_000).then(() => 'still running' as const)]);
    return { code, after: this.output.slice(before) };
  }

  ready(): Promise<true> {
    return until(
      'the banner',
      async () => {
        if (this.child.exitCode !== null) throw new Error(`the stack exited early:\n${this.output}`);
        return this.output.includes('Ctrl-C stops everything.') ? true : undefined;
      },
      240_000,
      () => this.output,
    );
  }

  environment(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    for (const [, key, value] of this.output.matchAll(/^ {2}export (\w+)=(\S+)$/gm))
      env[key as string] = value;
    return env;
  }

  kill(): void {
    try {
      process.kill(-(this.child.pid as number), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

const cli = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env,
      cwd: ROOT,
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
};

const starts: Start[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const start of starts) start.kill();
  await sleep(3_000);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}, 30_000);

const workDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-first-hour-'));
  dirs.push(dir);
  return dir;
};

describe('Ctrl-C during the start-up of local start', () => {
  /** The moments, in start-up order, each reached by watching what a user could watch. */
  const moments: [string, (start: Start) => Promise<unknown>][] = [
    [
      'the ports were checked and the servers are starting',
      async (start) => {
        return start.output.includes('starting the offline system') ? true : undefined;
      },
    ],
    [
      'DynamoDB Local (a child process) was spawned',
      async (start) => {
        return (
          (await start.pidFile())?.children.some((child) => child.name === 'DynamoDB Local') || undefined
        );
      },
    ],
    [
      'serverless offline (a child process group) was spawned and is building the functions',
      async (start) => {
        return (
          (await start.pidFile())?.children.some((child) => child.name === 'serverless offline') || undefined
        );
      },
    ],
  ];

  it.each(moments)(
    'when %s: one line, exit 0, no pid file, no child or port left',
    async (_, reached) => {
      const dir = await workDir();
      const ports = await freePorts();
      const start = new Start(dir, ports, []);
      starts.push(start);
      await until(
        'the moment',
        async () => {
          if (start.child.exitCode !== null) throw new Error(`the start ended early:\n${start.output}`);
          return reached(start);
        },
        180_000,
        () => start.output,
      );
      const recorded = await start.pidFile();
      expect(recorded?.pid).toBe(start.child.pid);
      const { code, after } = await start.interrupt();
      expect(code, start.output).toBe(0);
      // One line, and it is the whole answer: no stack trace, no error from what was being stopped.
      expect(after.trim().split('\n'), start.output).toEqual([
        'stopped during start-up (Ctrl-C): nothing it started is left running',
      ]);
      expect(start.output).not.toContain('Ctrl-C stops everything.');
      expect(existsSync(path.join(dir, 'stack.pid'))).toBe(false);
      for (const child of (await start.pidFile())?.children ?? recorded?.children ?? []) {
        expect(alive(child.pid), `${child.name} (pid ${child.pid}) outlived the start`).toBe(false);
      }
      for (const [service, port] of Object.entries(ports)) {
        expect(await canBind(port, '127.0.0.1'), `${service} port ${port} is still held`).toBe(true);
      }
    },
    240_000,
  );
});

describe('the demo as the README shows it', () => {
  let dir: string;
  let ports: Ports;

  beforeAll(async () => {
    dir = await workDir();
    ports = await freePorts();
  });

  const startDemo = () => {
    const start = new Start(dir, ports, ['--functions', 'in-process', '--schedule-minutes', '0']);
    starts.push(start);
    return start;
  };

  it('the examples work against it as written; an edited policy file is kept across a restart', async () => {
    const first = startDemo();
    await first.ready();
    const env = first.environment();
    for (const tenant of ['acme', 'globex', 'initech']) {
      const example = `examples/policies/${tenant}.json`;
      const planned = await cli(env, 'plan', '--policy', example);
      expect(planned.code, planned.stderr).toBe(0);
      expect(planned.stdout).toContain(`plan for tenant ${tenant} (`);
      expect(planned.stdout).toContain(`unsaved file ${example}`);
      // The demo stored the example as it is: putting it again changes nothing.
      const put = await cli(env, 'policy', 'put', example);
      expect(put.code, put.stderr).toBe(0);
      expect(put.stdout).toContain(`tenant ${tenant}: unchanged (version 1)`);
    }
    const onboarded = await cli(env, 'onboard', '--file', 'examples/onboarding.jsonl');
    expect(onboarded.code, onboarded.stderr).toBe(0);

    // The operator edits a policy file the banner pointed at, then restarts.
    const globex = path.join(dir, 'policies', 'globex.json');
    const acme = path.join(dir, 'policies', 'acme.json');
    const acmeWritten = await readFile(acme, 'utf8');
    const edited = (await readFile(globex, 'utf8')).replace(
      '"maxShorteningChanges": ',
      '"maxShorteningChanges": 1',
    );
    await writeFile(globex, edited);
    const stopped = await first.interrupt();
    expect(stopped.code, first.output).toBe(0);
    expect(stopped.after.trim().split('\n').at(-1)).toBe('stopped.');
    expect(existsSync(path.join(dir, 'stack.pid'))).toBe(false);

    const second = startDemo();
    await second.ready();
    expect(await readFile(globex, 'utf8')).toBe(edited);
    expect(await readFile(acme, 'utf8')).toBe(acmeWritten);
    const relative = (file: string) => path.relative(ROOT, file);
    expect(second.output).toContain(
      `${relative(globex)}  kept, with your edits; the demo policy is stored (npx chime-lifecycle policy put ${relative(globex)} applies yours)`,
    );
    expect(second.output).toContain(`${relative(acme)}  kept: the demo policy stored now`);
    // What the banner says is so: the stored policy is the demo's, the edit applies with policy put.
    const put = await cli(second.environment(), 'policy', 'put', globex);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout).toContain('tenant globex: stored version 2');
    const again = await second.interrupt();
    expect(again.code, second.output).toBe(0);
  }, 600_000);
});
