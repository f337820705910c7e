import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ChimeSDKIdentityClient,
  DescribeAppInstanceUserCommand,
  paginateListAppInstanceUsers,
} from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChimeEmulator } from '../../../emulator';
import { freePort } from '../../../local/free-port';
import { canBind } from '../../../local/port-owner';
import { policyDocument } from '../../fixtures/policies';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'chime-lifecycle.js');
const DAY = 86_400_000;

type Ports = {
  dynamodb: number;
  sqs: number;
  chime: number;
  eventbridge: number;
  lambda: number;
  sts: number;
};

const freePorts = async (): Promise<Ports> => ({
  dynamodb: await freePort(),
  sqs: await freePort(),
  chime: await freePort(),
  eventbridge: await freePort(),
  lambda: await freePort(),
  sts: await freePort(),
});

const portFlags = (ports: Ports) => [
  '--dynamodb-port',
  String(ports.dynamodb),
  '--sqs-port',
  String(ports.sqs),
  '--chime-port',
  String(ports.chime),
  '--eventbridge-port',
  String(ports.eventbridge),
  '--lambda-port',
  String(ports.lambda),
  '--sts-port',
  String(ports.sts),
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  log = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log().slice(-3000)}`);
    await sleep(300);
  }
}

/** The expiration days the emulator's saved state file holds for the user `userId`. */
async function savedExpirationDays(file: string, userId: string): Promise<number | undefined> {
  let state: unknown;
  try {
    state = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const found: number[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    // A user record of the state file: its `id` is the AppInstanceUserId.
    if (record.id === userId && typeof record.expirationDays === 'number') found.push(record.expirationDays);
    for (const field of Object.values(record)) visit(field);
  };
  visit(state);
  return found[0];
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * `chime-lifecycle local start` (what `npm start` runs) as a user's terminal runs it: its own process group,
 * so that a Ctrl-C (SIGINT to the group) or a `kill -9` of the group reaches it the way it would reach them.
 */
class Stack {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [BIN, 'local', 'start', ...args], {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child.stdout?.on('data', (chunk) => {
      this.output += chunk;
    });
    this.child.stderr?.on('data', (chunk) => {
      this.output += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  ready(timeoutMs = 180_000): Promise<true> {
    return eventually(
      'the stack to be ready',
      async () => {
        if (this.child.exitCode !== null) throw new Error(`the stack exited early:\n${this.output}`);
        return this.output.includes('Ctrl-C stops everything.') ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** The environment its `export` lines give the CLI. */
  environment(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const match of this.output.matchAll(/^ {2}export (\w+)=(\S+)$/gm)) {
      const [, key, value] = match;
      if (key && value) env[key] = value;
    }
    env.AWS_ACCESS_KEY_ID = 'local';
    env.AWS_SECRET_ACCESS_KEY = 'local';
    return env;
  }

  /** Ctrl-C in its terminal: SIGINT to its process group. */
  async interrupt(): Promise<number | null> {
    process.kill(-this.pid, 'SIGINT');
    return Promise.race([this.exited, sleep(60_000).then(() => -1)]);
  }

  kill(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
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

/** The children of a process, from /proc (pid and command line). */
async function childrenOf(parent: number): Promise<{ pid: number; command: string }[]> {
  const found: { pid: number; command: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== parent) continue;
      const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
      found.push({ pid: Number(entry), command });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describe('local start refuses a taken port', () => {
  let holder: Server;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-ports-'));
  });
  afterAll(async () => {
    await new Promise((resolve) => holder?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('names the port, the process holding it and the flag, and starts nothing', async () => {
    const ports = await freePorts();
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(ports.dynamodb, '127.0.0.1', resolve));
    const stack = new Stack(['--work-dir', dir, '--no-demo', ...portFlags(ports)]);
    const code = await Promise.race([stack.exited, sleep(60_000).then(() => 'still running')]);
    if (code === 'still running') stack.kill();
    expect(code, stack.output).toBe(1);
    expect(stack.output).toContain(
      `chime-lifecycle: port ${ports.dynamodb} for DynamoDB Local is already in use by pid ${process.pid} (`,
    );
    expect(stack.output).toContain('pick another port with --dynamodb-port <port>');
    expect(stack.output).not.toContain('starting the offline system');
    // Nothing was started: every other port is still free, and no pid file is left behind.
    for (const port of [ports.sqs, ports.chime, ports.eventbridge, ports.lambda, ports.sts]) {
      expect(await canBind(port, '127.0.0.1'), `port ${port}`).toBe(true);
    }
    expect(existsSync(path.join(dir, 'stack.pid'))).toBe(false);
  }, 90_000);
});

/**
 * The restart story with `--persist`: a start, a refused second start, a `kill -9` of the whole group (nothing
 * may outlive it), a start that comes back with the tenants and users, a Ctrl-C in the middle of a reconcile,
 * a start that resumes that run, and `--reset`.
 */
describe('local start --persist across kill -9, Ctrl-C and restarts', () => {
  let dir: string;
  let ports: Ports;
  const stacks: Stack[] = [];
  const arns = new Map<string, string>();
  let userArn: string;

  const start = (...args: string[]) => {
    const stack = new Stack(['--work-dir', dir, '--schedule-minutes', '0', '--quota-scale', '20', ...args]);
    stacks.push(stack);
    return stack;
  };

  const seed = async (tenantId: string, users: Record<string, unknown>[]) => {
    const response = await fetch(`http://127.0.0.1:${ports.chime}/_emulator/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appInstanceName: tenantId, users }),
    });
    expect(response.status).toBe(201);
    const { appInstanceArn } = (await response.json()) as { appInstanceArn: string; userArns: string[] };
    arns.set(tenantId, appInstanceArn);
    return appInstanceArn;
  };

  const putPolicy = async (env: NodeJS.ProcessEnv, tenantId: string) => {
    const file = path.join(dir, `${tenantId}.json`);
    const document = policyDocument(tenantId, arns.get(tenantId) as string, {
      safety: { minRemainingDays: 1, maxShorteningChanges: 100_000, maxShorteningPercent: 100 },
    });
    await writeFile(file, JSON.stringify(document));
    const result = await cli(env, 'policy', 'put', file);
    expect(result.code, result.stderr).toBe(0);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-restart-'));
    ports = await freePorts();
  });

  afterAll(async () => {
    for (const stack of stacks) stack.kill();
    await sleep(4_000);
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('comes up, and a second start on the same work directory refuses, naming the running pid', async () => {
    const first = start('--persist', '--no-demo', ...portFlags(ports));
    await first.ready();
    expect(first.output).toContain('nothing kept yet, started fresh');
    expect(first.output).not.toMatch(/Warning|^error /m);
    const env = first.environment();
    const now = Date.now();
    await seed('keep', [
      { appInstanceUserId: 'guest-1', name: 'Guest', createdAt: new Date(now - DAY).toISOString() },
      { appInstanceUserId: 'emp-1', name: 'Staff', createdAt: new Date(now - 50 * DAY).toISOString() },
      { appInstanceUserId: 'user-1', name: 'User', createdAt: new Date(now - 5 * DAY).toISOString() },
    ]);
    userArn = `${arns.get('keep')}/user/guest-1`;
    await putPolicy(env, 'keep');
    await eventually(
      'keep to be reconciled',
      async () => (first.output.includes('tenant=keep state=completed') ? true : undefined),
      120_000,
      () => first.output,
    );
    // The emulator saves its state within its save interval (1 s) of a change; the kill -9 of the next test
    // must not fall inside that interval (a CI run's did): wait until the saved file holds the reconcile's write.
    await eventually(
      "the emulator's saved state to hold the reconcile's expiration",
      async () =>
        (await savedExpirationDays(path.join(dir, 'state', 'chime-emulator.json'), 'guest-1')) === 7
          ? true
          : undefined,
      30_000,
    );

    const second = start('--persist', ...portFlags(await freePorts()));
    expect(
      await Promise.race([second.exited, sleep(60_000).then(() => 'still running')]),
      second.output,
    ).toBe(1);
    expect(second.output).toContain(`the offline system is already running (pid ${first.pid}`);
    expect(second.output).not.toContain('starting the offline system');
  }, 300_000);

  it('kill -9 of the whole group leaves no process and no port behind', async () => {
    const [first] = stacks as [Stack];
    const recorded = JSON.parse(await readFile(path.join(dir, 'stack.pid'), 'utf8')) as {
      pid: number;
      children: { name: string; pid: number }[];
    };
    expect(recorded.pid).toBe(first.pid);
    expect(recorded.children.map((child) => child.name).sort()).toEqual([
      'DynamoDB Local',
      'serverless offline',
    ]);
    first.kill();
    await first.exited;
    await eventually(
      'the children of the killed stack to be gone',
      async () => (recorded.children.every((child) => !alive(child.pid)) ? true : undefined),
      20_000,
    );
    for (const port of Object.values(ports)) {
      expect(await canBind(port, '127.0.0.1'), `port ${port} is still held`).toBe(true);
    }
  }, 60_000);

  it('the next start notices the earlier one and comes back with its tenants and users', async () => {
    const [first] = stacks as [Stack];
    const again = start('--persist', ...portFlags(ports));
    await again.ready();
    expect(again.output).toContain(`an earlier start (pid ${first.pid}`);
    expect(again.output).toContain('restored 1 tenants');
    expect(again.output).toMatch(/queues {20}start empty/);
    expect(again.output).toMatch(/tenant keep +3 users in Chime/);
    const env = again.environment();
    const listed = await cli(env, 'policy', 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { tenantId: string }[]).map((p) => p.tenantId)).toEqual(['keep']);
    const chime = new ChimeSDKIdentityClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${ports.chime}`,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const { AppInstanceUser } = await chime.send(
        new DescribeAppInstanceUserCommand({ AppInstanceUserArn: userArn }),
      );
      // Kept with what the reconcile gave it before the kill.
      expect(AppInstanceUser?.ExpirationSettings?.ExpirationDays).toBe(7);
    } finally {
      chime.destroy();
    }
  }, 240_000);

  it('Ctrl-C during a reconcile stops quietly, in one line, and the next start resumes the run', async () => {
    const current = stacks[2] as Stack;
    const env = current.environment();
    const now = Date.now();
    await seed(
      'big',
      Array.from({ length: 600 }, (_, i) => ({
        appInstanceUserId: `user-${i}`,
        name: 'U',
        createdAt: new Date(now - (i % 90) * DAY).toISOString(),
      })),
    );
    // Slow every Chime call down so the run is certainly still going when Ctrl-C arrives.
    await fetch(`http://127.0.0.1:${ports.chime}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 300 }),
    });
    await putPolicy(env, 'big');
    await eventually(
      'the reconcile of big to be under way',
      async () => {
        const stats = (await (await fetch(`http://127.0.0.1:${ports.chime}/_emulator/stats`)).json()) as {
          calls: Record<string, number>;
        };
        return (stats.calls.PutAppInstanceUserExpirationSettings ?? 0) > 0 ? true : undefined;
      },
      120_000,
      () => current.output,
    );
    const before = current.output.length;
    expect(await current.interrupt(), current.output).toBe(0);
    const tail = current.output.slice(before);
    expect(tail.trim().split('\n')).toEqual([
      'stopping...',
      'interrupted a running reconcile (tenant big): its message goes back to the queue and the next start with --persist resumes the run from its checkpoint',
      'stopped.',
    ]);
    expect(current.output).not.toMatch(/Unhandled|^\s+at /m);

    const resumed = start('--persist', '--functions', 'in-process', ...portFlags(ports));
    await resumed.ready();
    expect(resumed.output).toMatch(/resumed {19}the interrupted run \S+ of tenant big from step \d+/);
    await eventually(
      'the resumed run of big to complete',
      async () => (resumed.output.includes('tenant=big state=completed') ? true : undefined),
      180_000,
      () => resumed.output,
    );
    expect(await resumed.interrupt(), resumed.output).toBe(0);
  }, 420_000);

  it('--reset wipes the kept state; the demo banner counts the users Chime holds', async () => {
    const fresh = start('--persist', '--reset', '--functions', 'in-process', ...portFlags(ports));
    await fresh.ready();
    expect(fresh.output).toContain('--reset: wiped the kept state');
    expect(fresh.output).toContain('nothing kept yet, started fresh');
    // Nothing alarming on the way up: no warning, no error line.
    expect(fresh.output).not.toMatch(/Warning|^error /m);
    const listed = await cli(fresh.environment(), 'policy', 'list', '--json');
    expect((JSON.parse(listed.stdout) as { tenantId: string }[]).map((p) => p.tenantId).sort()).toEqual([
      'acme',
      'globex',
      'initech',
    ]);
    // Each banner count is what ListAppInstanceUsers finds (in the tenant's Region: initech's AppInstance is
    // in eu-central-1); with the swept ones it makes the seeded 339.
    const banner = [
      ...fresh.output.matchAll(
        /^ {2}tenant (\w+) +(\d+) users in Chime(?: \((\d+) more were seeded already expired: Chime's sweep deleted them\))? +([a-z]+-[a-z]+-\d) +(arn:\S+)$/gm,
      ),
    ];
    expect(banner.map((line) => [line[1], line[4]])).toEqual([
      ['acme', 'us-east-1'],
      ['globex', 'us-east-1'],
      ['initech', 'eu-central-1'],
    ]);
    let seeded = 0;
    for (const [, tenantId, shown, swept, region, arn] of banner) {
      const chime = new ChimeSDKIdentityClient({
        region: region ?? 'us-east-1',
        endpoint: `http://127.0.0.1:${ports.chime}`,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      let count = 0;
      try {
        for await (const page of paginateListAppInstanceUsers({ client: chime }, { AppInstanceArn: arn })) {
          count += page.AppInstanceUsers?.length ?? 0;
        }
      } finally {
        chime.destroy();
      }
      expect(Number(shown), tenantId).toBe(count);
      seeded += count + Number(swept ?? 0);
    }
    expect(seeded).toBe(339);
    expect(await fresh.interrupt(), fresh.output).toBe(0);
    expect(existsSync(path.join(dir, 'stack.pid'))).toBe(false);
  }, 240_000);
});

describe('local start cleans up after an earlier start whose watchdog died too', () => {
  let dir: string;
  const stacks: Stack[] = [];
  afterAll(async () => {
    for (const stack of stacks) stack.kill();
    await sleep(3_000);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('finds the leftovers through the pid file, stops them and names them', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-leftovers-'));
    const ports = await freePorts();
    const args = [
      '--work-dir',
      dir,
      '--no-demo',
      '--functions',
      'in-process',
      '--schedule-minutes',
      '0',
      ...portFlags(ports),
    ];
    const first = new Stack(args);
    stacks.push(first);
    await first.ready();
    const recorded = JSON.parse(await readFile(path.join(dir, 'stack.pid'), 'utf8')) as {
      children: { name: string; pid: number }[];
    };
    const dynamo = recorded.children.find((child) => child.name === 'DynamoDB Local');
    expect(dynamo).toBeDefined();
    const reaper = (await childrenOf(first.pid)).find((child) => child.command.includes('local/reaper.js'));
    expect(reaper, 'the reaper is a child of the stack').toBeDefined();
    // The watchdog dies first, then the whole stack: DynamoDB Local (its own process group) is orphaned.
    process.kill(reaper?.pid as number, 'SIGKILL');
    first.kill();
    await first.exited;
    await sleep(1_000);
    expect(alive(dynamo?.pid as number), 'DynamoDB Local outlived its stack').toBe(true);

    const second = new Stack(args);
    stacks.push(second);
    await second.ready();
    expect(second.output).toContain(`an earlier start (pid ${first.pid}, started `);
    expect(second.output).toContain(`stopped what it left running: DynamoDB Local (pid ${dynamo?.pid})`);
    expect(alive(dynamo?.pid as number)).toBe(false);
    expect(await second.interrupt(), second.output).toBe(0);
  }, 240_000);
});

describe('local start when a child it needs dies mid-run', () => {
  let dir: string;
  const stacks: Stack[] = [];
  afterAll(async () => {
    for (const stack of stacks) stack.kill();
    await sleep(3_000);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('kill -9 of DynamoDB Local during a reconcile: one line names it and its signal, everything stops, exit 1, no pid file', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-child-death-'));
    const ports = await freePorts();
    const stack = new Stack([
      '--work-dir',
      dir,
      '--no-demo',
      '--functions',
      'in-process',
      '--schedule-minutes',
      '0',
      '--quota-scale',
      '20',
      ...portFlags(ports),
    ]);
    stacks.push(stack);
    await stack.ready();
    const env = stack.environment();
    const seeded = await fetch(`http://127.0.0.1:${ports.chime}/_emulator/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        appInstanceName: 'doomed',
        users: Array.from({ length: 300 }, (_, i) => ({
          appInstanceUserId: `user-${i}`,
          name: 'U',
          createdAt: new Date(Date.now() - (i % 90) * DAY).toISOString(),
        })),
      }),
    });
    const { appInstanceArn } = (await seeded.json()) as { appInstanceArn: string };
    // Slow Chime down so the run is certainly still going when DynamoDB Local dies.
    await fetch(`http://127.0.0.1:${ports.chime}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs: 300 }),
    });
    const file = path.join(dir, 'doomed.json');
    await writeFile(
      file,
      JSON.stringify(
        policyDocument('doomed', appInstanceArn, {
          safety: { minRemainingDays: 1, maxShorteningChanges: 100_000, maxShorteningPercent: 100 },
        }),
      ),
    );
    expect((await cli(env, 'policy', 'put', file)).code).toBe(0);
    await eventually(
      'the reconcile of doomed to be under way',
      async () => {
        const stats = (await (await fetch(`http://127.0.0.1:${ports.chime}/_emulator/stats`)).json()) as {
          calls: Record<string, number>;
        };
        return (stats.calls.PutAppInstanceUserExpirationSettings ?? 0) > 0 ? true : undefined;
      },
      120_000,
      () => stack.output,
    );
    const recorded = JSON.parse(await readFile(path.join(dir, 'stack.pid'), 'utf8')) as {
      children: { name: string; pid: number }[];
    };
    const dynamo = recorded.children.find((child) => child.name === 'DynamoDB Local');
    if (!dynamo) throw new Error('DynamoDB Local is not in the pid file');

    process.kill(dynamo.pid, 'SIGKILL');
    const code = await Promise.race([stack.exited, sleep(60_000).then(() => 'still running')]);
    expect(code, stack.output).toBe(1);
    expect(stack.output).toContain(
      `error  DynamoDB Local (pid ${dynamo.pid}) died (killed by SIGKILL): the offline system cannot run without it; stopping everything`,
    );
    expect(stack.output).toMatch(/stopping\.\.\.\n(?:.*\n)*stopped\.\n/);
    expect(stack.output).not.toMatch(/Unhandled|^\s+at /m);
    // Stopped cleanly: no pid file, no process of it left, every port free again.
    expect(existsSync(path.join(dir, 'stack.pid'))).toBe(false);
    expect(await childrenOf(stack.pid)).toEqual([]);
    for (const port of Object.values(ports)) {
      expect(await canBind(port, '127.0.0.1'), `port ${port} is still held`).toBe(true);
    }
  }, 300_000);
});

describe('local start --persist with a kept emulator state that does not hold', () => {
  let dir: string;
  const stacks: Stack[] = [];
  afterAll(async () => {
    for (const stack of stacks) stack.kill();
    await sleep(2_000);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('exits non-zero with one line naming the file and the field, leaves the file byte-identical and nothing running', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-bad-state-'));
    const stateFile = path.join(dir, 'state', 'chime-emulator.json');
    await mkdir(path.dirname(stateFile), { recursive: true });
    // A state as the emulator saves it, then one field changed by hand.
    const emulator = await startChimeEmulator({ port: 0, stateFile, saveIntervalMs: 50 });
    const seeded = await fetch(`${emulator.url}/_emulator/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        appInstanceName: 'kept',
        users: [
          { appInstanceUserId: 'u-1', name: 'One', expirationDays: 30 },
          { appInstanceUserId: 'u-2', name: 'Two', expirationDays: 30 },
        ],
      }),
    });
    expect(seeded.status).toBe(201);
    await emulator.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as {
      service: { appInstances: { users: { name: string }[] }[] };
    };
    (saved.service.appInstances[0]?.users[1] as { name: string }).name = '';
    const text = JSON.stringify(saved);
    await writeFile(stateFile, text);

    const ports = await freePorts();
    const stack = new Stack([
      '--work-dir',
      dir,
      '--persist',
      '--functions',
      'in-process',
      '--schedule-minutes',
      '0',
      ...portFlags(ports),
    ]);
    stacks.push(stack);
    const code = await Promise.race([stack.exited, sleep(120_000).then(() => 'still running')]);
    expect(code, stack.output).toBe(2);
    const errors = stack.output.split('\n').filter((line) => line.startsWith('chime-lifecycle: '));
    expect(errors).toEqual([
      `chime-lifecycle: ${stateFile}: service.appInstances[0].users[1].name: length must be between 1 and 100 characters; the saved emulator state was not loaded and the file is left as it is: fix that field, or delete the file (npm start -- --persist --reset) to start empty`,
    ]);
    expect(await readFile(stateFile, 'utf8')).toBe(text);
    expect(existsSync(path.join(dir, 'stack.pid'))).toBe(false);
    for (const port of Object.values(ports)) {
      expect(await canBind(port, '127.0.0.1'), `port ${port} is still held`).toBe(true);
    }
  }, 180_000);
});
