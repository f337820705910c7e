import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ChimeSDKIdentityClient,
  DeleteAppInstanceUserCommand,
  DescribeAppInstanceUserCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../local/free-port';
import { createSqsClient } from '../../../shared/aws/sqs';
import { policyDocument } from '../../fixtures/policies';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'chime-lifecycle.js');
const QUOTA_SCALE = 20;
const DAY = 86_400_000;

// The local servers accept any credentials; the SDK still needs some.
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';

interface Plan {
  summary: { users: number; set: number; remove: number };
  changes: { appInstanceUserId: string }[];
}

/**
 * The offline system as a user starts it (`chime-lifecycle local start`, the functions under serverless
 * offline), driven only from outside: the CLI, the SDK and HTTP. Nothing runs in this test's process but
 * the checks.
 */
describe('the offline stack end to end', () => {
  let stack: ChildProcess;
  let output = '';
  let env: NodeJS.ProcessEnv;
  let ports: {
    dynamodb: number;
    sqs: number;
    chime: number;
    eventbridge: number;
    lambda: number;
    sts: number;
  };
  let dir: string;
  let chime: ChimeSDKIdentityClient;
  const arns = new Map<string, string>();

  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, timeout: 120_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };

  const plan = async (tenantId: string): Promise<Plan> => {
    const result = await cli('plan', '--tenant', tenantId, '--json', '--quota-scale', String(QUOTA_SCALE));
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Plan;
  };

  const eventually = async <T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 90_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}\n--- stack output ---\n${output.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };

  const compliant = (tenantId: string) =>
    eventually(`${tenantId} to be compliant`, async () => {
      const result = await plan(tenantId);
      return result.changes.length === 0 ? result : undefined;
    });

  const seed = async (tenantId: string, users: Record<string, unknown>[]) => {
    const response = await fetch(`http://127.0.0.1:${ports.chime}/_emulator/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appInstanceName: tenantId, users }),
    });
    expect(response.ok).toBe(true);
    const { appInstanceArn } = (await response.json()) as { appInstanceArn: string };
    arns.set(tenantId, appInstanceArn);
    return appInstanceArn;
  };

  const putPolicy = async (tenantId: string, overrides: Record<string, unknown> = {}) => {
    const file = path.join(dir, `${tenantId}.json`);
    const document = policyDocument(tenantId, arns.get(tenantId) as string, {
      safety: { minRemainingDays: 1, maxShorteningChanges: 100_000, maxShorteningPercent: 100 },
      ...overrides,
    });
    await writeFile(file, JSON.stringify(document));
    const result = await cli('policy', 'put', file);
    expect(result.code, result.stderr).toBe(0);
  };

  const describeUser = async (tenantId: string, userId: string) => {
    const arn = `${arns.get(tenantId)}/user/${userId}`;
    try {
      const { AppInstanceUser } = await chime.send(
        new DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }),
      );
      return AppInstanceUser;
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-e2e-'));
    ports = {
      dynamodb: await freePort(),
      sqs: await freePort(),
      chime: await freePort(),
      eventbridge: await freePort(),
      lambda: await freePort(),
      sts: await freePort(),
    };
    stack = spawn(
      process.execPath,
      [
        BIN,
        'local',
        'start',
        // Its own work directory (pid file, state), so it never meets a developer's `npm start` in .local/.
        '--work-dir',
        dir,
        '--no-demo',
        '--schedule-minutes',
        '0',
        '--quota-scale',
        String(QUOTA_SCALE),
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
      ],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    stack.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    stack.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    await eventually(
      'the stack to be ready',
      async () => (output.includes('Ctrl-C stops everything.') ? true : undefined),
      150_000,
    );
    env = { ...process.env };
    for (const match of output.matchAll(/^ {2}export (\w+)=(\S+)$/gm)) {
      const [, key, value] = match;
      if (key && value) env[key] = value;
    }
    // The first export line carries two assignments.
    env.AWS_ACCESS_KEY_ID = 'local';
    env.AWS_SECRET_ACCESS_KEY = 'local';
    expect(env.AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY).toBe(`http://127.0.0.1:${ports.chime}`);
    chime = new ChimeSDKIdentityClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${ports.chime}`,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });

    const now = Date.now();
    const at = (ageDays: number) => new Date(now - ageDays * DAY).toISOString();
    await seed('north', [
      { appInstanceUserId: 'guest-1', name: 'Guest', createdAt: at(1) },
      { appInstanceUserId: 'guest-2', name: 'Guest', createdAt: at(2), expirationDays: 60 },
      { appInstanceUserId: 'emp-1', name: 'Staff', createdAt: at(50), expirationDays: 100 },
      { appInstanceUserId: 'user-1', name: 'User', createdAt: at(5) },
    ]);
    await seed('south', [
      { appInstanceUserId: 'guest-9', name: 'Guest', createdAt: at(3), expirationDays: 3 },
      { appInstanceUserId: 'svc-1', name: 'Bot', createdAt: at(3), expirationDays: 3 },
    ]);
  }, 200_000);

  afterAll(async () => {
    chime?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (stack && stack.exitCode === null) {
      const exited = new Promise((resolve) => stack.once('exit', resolve));
      stack.kill('SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      if (stack.exitCode === null) stack.kill('SIGKILL');
    }
  }, 60_000);

  it('reconciles a tenant as soon as its policy is stored', async () => {
    await putPolicy('north');
    await putPolicy('south');
    await compliant('north');
    await compliant('south');
    expect((await describeUser('north', 'guest-1'))?.ExpirationSettings?.ExpirationDays).toBe(7);
    expect((await describeUser('north', 'emp-1'))?.ExpirationSettings).toBeUndefined();
    expect((await describeUser('south', 'svc-1'))?.ExpirationSettings?.ExpirationDays).toBe(3);
  });

  it('onboards users from the queue with the expiration their policy gives', async () => {
    const file = path.join(dir, 'users.jsonl');
    await writeFile(
      file,
      [
        { tenantId: 'north', appInstanceUserId: 'guest-new', name: 'New Guest', requestId: 'r1' },
        { tenantId: 'north', appInstanceUserId: 'emp-2', name: 'New Staff' },
        { tenantId: 'south', appInstanceUserId: 'user-new', name: 'New User', metadata: '{"plan":"trial"}' },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );
    const sent = await cli('onboard', '--file', file);
    expect(sent.code, sent.stderr).toBe(0);
    const guest = await eventually('guest-new to exist', () => describeUser('north', 'guest-new'));
    expect(guest.ExpirationSettings).toEqual({ ExpirationDays: 7, ExpirationCriterion: 'CREATED_TIMESTAMP' });
    const staff = await eventually('emp-2 to exist', () => describeUser('north', 'emp-2'));
    expect(staff.ExpirationSettings).toBeUndefined();
    const trial = await eventually('user-new to exist', () => describeUser('south', 'user-new'));
    expect(trial.ExpirationSettings?.ExpirationDays).toBe(30);
  });

  it('the scheduled sync leaves every tenant compliant, and a policy change is reconciled again', async () => {
    const response = await fetch(
      `http://localhost:${ports.lambda}/2015-03-31/functions/chime-lifecycle-local-schedule-sync/invocations`,
      { method: 'POST', body: '{}' },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { queued: string[] }).queued.sort()).toEqual(['north', 'south']);
    await compliant('north');
    await compliant('south');

    const rules = (
      policyDocument('north', arns.get('north') as string).rules as Record<string, unknown>[]
    ).map((rule) => (rule.id === 'guests' ? { ...rule, expiration: { days: 21 } } : rule));
    await putPolicy('north', { rules });
    await eventually('guest-1 to get 21 days', async () =>
      (await describeUser('north', 'guest-1'))?.ExpirationSettings?.ExpirationDays === 21 ? true : undefined,
    );
    const after = await compliant('north');
    expect(after.summary.users).toBe(6);
  });

  it('a poison message ends in the onboarding DLQ with its reason', async () => {
    const sqs = createSqsClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${ports.sqs}` });
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: env.CHIME_LIFECYCLE_ONBOARDING_QUEUE }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"tenantId": "north", "name": 42' }));
    sqs.destroy();
    const letters = await eventually('the poison message in the DLQ', async () => {
      const result = await cli('dlq', 'list', '--queue', 'onboarding', '--json');
      if (result.code !== 0) return undefined;
      const parsed = JSON.parse(result.stdout) as { count: number; messages: { reason: string }[] };
      return parsed.count > 0 ? parsed.messages : undefined;
    });
    expect(letters[0]?.reason).toMatch(/invalid|json|schema/i);
  });

  it("a Chime deletion reaches user-removed through the local EventBridge's default-bus rule, at once", async () => {
    const userArn = `${arns.get('north')}/user/user-1`;
    await chime.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: userArn }));
    // The emulator publishes DeleteAppInstanceUser as CloudTrail would; the rule of infra/event-rules.json
    // invokes user-removed (under serverless offline), which marks the ledger and publishes User Deleted.
    const deleted = await eventually(
      'User Deleted on the bus',
      async () => {
        const response = await fetch(`http://127.0.0.1:${ports.eventbridge}/_events`);
        const { events } = (await response.json()) as {
          events: { source: string; detailType: string; detail: Record<string, unknown> }[];
        };
        return events.find(
          (event) => event.detailType === 'User Deleted' && event.detail.appInstanceUserArn === userArn,
        );
      },
      30_000,
    );
    expect(deleted.detail).toMatchObject({ tenantId: 'north', reason: 'deleted', ledgerMarked: true });
  });

  it('stops on Ctrl-C and leaves no process behind', async () => {
    const exited = new Promise<number | null>((resolve) => stack.once('exit', (code) => resolve(code)));
    stack.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toMatch(/stopped\./);
    for (const port of Object.values(ports)) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect({ port, host: '127.0.0.1' });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      expect(open, `port ${port} still open`).toBe(false);
    }
  }, 60_000);
});
