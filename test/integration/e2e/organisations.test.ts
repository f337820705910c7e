import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ChimeSDKIdentityClient,
  DeleteAppInstanceUserCommand,
  DescribeAppInstanceUserCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../../local/stack';
import { localAccessKeyId } from '../../../local/sts-server';
import { policyDocument } from '../../fixtures/policies';
import { type CliResult, runCli } from '../cli/harness';

/**
 * Real organisations (issue 20), end to end on one offline stack configured for us-east-1: a tenant whose
 * AppInstance is in us-east-1, one in eu-central-1, and one in a second AWS account reached through the role
 * its policy names (assumed through the stack's STS). Each goes through `policy put`, the reconcile its put
 * starts (policy stream → reconcile-tenant), `plan`, `sync`, and onboarding through the onboarding queue and
 * onboard-users; then the emulator's call log proves where every Chime call went and with whose credentials.
 */

const QUOTA_SCALE = 20;
const ACCOUNT_B = '444455556666';
const ROLE_B = `arn:aws:iam::${ACCOUNT_B}:role/chime-lifecycle-tenant-access`;
const EXTERNAL_ID_B = 'organisation-b-2f9c';
const DAY = 86_400_000;

interface Tenant {
  readonly id: string;
  readonly region: string;
  readonly account: string;
  arn: string;
  readonly access?: { roleArn: string; externalId: string };
}

const TENANTS: Tenant[] = [
  { id: 'us-tenant', region: 'us-east-1', account: '111122223333', arn: '' },
  { id: 'eu-tenant', region: 'eu-central-1', account: '111122223333', arn: '' },
  {
    id: 'b-tenant',
    region: 'us-east-1',
    account: ACCOUNT_B,
    arn: '',
    access: { roleArn: ROLE_B, externalId: EXTERNAL_ID_B },
  },
];

let stack: LocalStack;
let dir: string;
let env: NodeJS.ProcessEnv;

const cli = (...args: string[]): Promise<CliResult> => runCli(env, args);

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A Chime client in the tenant's Region with the credentials of its account (its role's, for tenant B). */
function tenantClient(tenant: Tenant): ChimeSDKIdentityClient {
  const accessKeyId = tenant.access ? localAccessKeyId(tenant.access.roleArn) : 'local';
  return new ChimeSDKIdentityClient({
    region: tenant.region,
    endpoint: stack.endpoints.chime,
    credentials: { accessKeyId, secretAccessKey: 'local' },
  });
}

/** A tenant's user as Chime has it, read in the tenant's Region with the credentials of its account. */
async function expirationOf(tenant: Tenant, userId: string): Promise<number | undefined | null> {
  const client = tenantClient(tenant);
  try {
    const { AppInstanceUser } = await client.send(
      new DescribeAppInstanceUserCommand({ AppInstanceUserArn: `${tenant.arn}/user/${userId}` }),
    );
    return AppInstanceUser?.ExpirationSettings?.ExpirationDays;
  } catch {
    return null;
  } finally {
    client.destroy();
  }
}

async function putPolicy(tenant: Tenant, overrides: Record<string, unknown> = {}): Promise<CliResult> {
  const document = policyDocument(tenant.id, tenant.arn, {
    safety: { minRemainingDays: 1, maxShorteningChanges: 100_000, maxShorteningPercent: 100 },
    ...(tenant.access ? { access: tenant.access } : {}),
    ...overrides,
  });
  const file = path.join(dir, `${tenant.id}-${Object.keys(overrides).join('-') || 'policy'}.json`);
  await writeFile(file, JSON.stringify(document));
  return cli('policy', 'put', file);
}

beforeAll(async () => {
  // The functions run in this process with its own credentials, like the CLI's: 'local'.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-organisations-'));
  stack = await startLocalStack({
    ports: { dynamodb: 0, sqs: 0, chime: 0, eventbridge: 0, lambda: 0, sts: 0 },
    demo: false,
    scheduleMinutes: 0,
    quotaScale: QUOTA_SCALE,
    functions: 'in-process',
    workDir: dir,
  });
  // The tenant account's role trusts us with this external id only (its trust policy's sts:ExternalId).
  stack.sts.trust(ROLE_B, EXTERNAL_ID_B);
  env = {
    ...process.env,
    ...stack.environment,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    CHIME_LIFECYCLE_QUOTA_SCALE: String(QUOTA_SCALE),
  };
  const now = stack.emulator.now().getTime();
  for (const tenant of TENANTS) {
    tenant.arn = stack.emulator.seed({
      appInstanceName: tenant.id,
      region: tenant.region,
      accountId: tenant.account,
      users: [
        // A guest without an expiration (the policy gives 7 days) and a drifted default user (365 days).
        { appInstanceUserId: 'guest-1', name: 'Guest', createdAt: new Date(now - DAY).toISOString() },
        {
          appInstanceUserId: 'user-1',
          name: 'User',
          createdAt: new Date(now - DAY).toISOString(),
          expirationDays: 30,
        },
      ],
    }).appInstanceArn;
  }
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('one stack, two Regions, two accounts', () => {
  it("refuses a role outside the AppInstance's account, and a role that does not trust us, before storing anything", async () => {
    const b = TENANTS[2] as Tenant;
    const foreign = await putPolicy(b, {
      access: { roleArn: 'arn:aws:iam::777788889999:role/x', externalId: EXTERNAL_ID_B },
    });
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain(
      `access.roleArn: is a role of account 777788889999 (partition aws), but appInstanceArn is in account ${ACCOUNT_B}`,
    );
    const untrusted = await putPolicy(b, { access: { roleArn: ROLE_B, externalId: 'not-ours' } });
    expect(untrusted.code).toBe(2);
    expect(untrusted.stderr).toContain(`access: could not assume ${ROLE_B}`);
    expect(untrusted.stderr).not.toContain('not-ours');
    expect((await cli('policy', 'list', '--json')).stdout.trim()).toBe('[]');
  });

  it('stores each policy after describing its AppInstance in its Region, with its credentials; each put reconciles its tenant', async () => {
    for (const tenant of TENANTS) {
      const put = await putPolicy(tenant);
      expect(put.code, `${tenant.id}: ${put.stderr}`).toBe(0);
    }
    for (const tenant of TENANTS) {
      const run = await eventually(`${tenant.id}'s run`, async () => {
        const [latest] = await stack.runtime.runs.recent(tenant.id, 1);
        return latest && latest.state !== 'running' ? latest : undefined;
      });
      expect(run.state, tenant.id).toBe('completed');
      expect(await expirationOf(tenant, 'guest-1'), tenant.id).toBe(7);
      expect(await expirationOf(tenant, 'user-1'), tenant.id).toBe(365);
    }
  });

  it('plans and syncs each tenant from the CLI through its own Region and credentials', async () => {
    for (const tenant of TENANTS) {
      const plan = await cli('plan', '--tenant', tenant.id, '--json');
      expect(plan.code, `${tenant.id}: ${plan.stderr}`).toBe(0);
      expect(JSON.parse(plan.stdout), tenant.id).toMatchObject({ summary: { users: 2 }, changes: [] });
      const sync = await cli('sync', '--tenant', tenant.id, '--json');
      expect(sync.code, `${tenant.id}: ${sync.stderr}`).toBe(0);
    }
  });

  it('onboards users of every tenant through the onboarding queue into the right AppInstance', async () => {
    const lines = TENANTS.map((tenant) =>
      JSON.stringify({
        tenantId: tenant.id,
        appInstanceUserId: 'guest-new',
        name: 'New guest',
        requestId: `req-${tenant.id}`,
      }),
    );
    await writeFile(path.join(dir, 'onboarding.jsonl'), `${lines.join('\n')}\n`);
    const sent = await cli('onboard', '--file', path.join(dir, 'onboarding.jsonl'));
    expect(sent.code, sent.stderr).toBe(0);
    for (const tenant of TENANTS) {
      const days = await eventually(`${tenant.id}'s new guest`, async () => {
        const found = await expirationOf(tenant, 'guest-new');
        return found === null ? undefined : found;
      });
      expect(days, tenant.id).toBe(7);
    }
  });

  it("marks each tenant's deleted user gone once user-removed confirmed it in the tenant's Region, with its credentials", async () => {
    for (const tenant of TENANTS) {
      const client = tenantClient(tenant);
      try {
        await client.send(
          new DeleteAppInstanceUserCommand({ AppInstanceUserArn: `${tenant.arn}/user/guest-new` }),
        );
      } finally {
        client.destroy();
      }
    }
    for (const tenant of TENANTS) {
      const entry = await eventually(`${tenant.id}'s deleted user marked gone`, async () => {
        const found = (await stack.runtime.ledger.getMany(tenant.id, ['guest-new'])).get('guest-new');
        return found?.goneAt === undefined ? undefined : found;
      });
      expect(entry, tenant.id).toMatchObject({ goneReason: 'deleted' });
    }
  });

  it("sent every Chime call to its tenant's Region, with the role's credentials for the second account only", () => {
    const calls = stack.emulator.calls();
    const roleKey = localAccessKeyId(ROLE_B);
    for (const tenant of TENANTS) {
      const mine = calls.filter((call) => call.appInstanceArn === tenant.arn);
      const operations = new Set(mine.map((call) => call.operation));
      // policy put, the reconciles, plan, sync and onboarding all reached Chime for this tenant.
      for (const operation of [
        'DescribeAppInstance',
        'ListAppInstanceUsers',
        'ListAppInstanceAdmins',
        'DescribeAppInstanceUser',
        'PutAppInstanceUserExpirationSettings',
        'CreateAppInstanceUser',
      ]) {
        expect(operations, `${tenant.id} ${operation}`).toContain(operation);
      }
      expect(new Set(mine.map((call) => call.region)), tenant.id).toEqual(new Set([tenant.region]));
      const keys = new Set(mine.map((call) => call.accessKeyId));
      // Tenant B's calls carry B's role credentials; the other tenants' never do.
      expect(keys, tenant.id).toEqual(new Set([tenant.access ? roleKey : 'local']));
    }
    expect(
      calls.some((call) => call.accessKeyId === roleKey && call.appInstanceArn !== TENANTS[2]?.arn),
    ).toBe(false);
    // The role was assumed, and its credentials reused: not once per call.
    const assumed = stack.sts.assumed()[ROLE_B] ?? 0;
    const roleCalls = calls.filter((call) => call.accessKeyId === roleKey).length;
    expect(assumed).toBeGreaterThan(0);
    expect(assumed).toBeLessThan(roleCalls);
  });
});
