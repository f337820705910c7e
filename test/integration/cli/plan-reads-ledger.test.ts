import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyDocument } from '../../fixtures/policies';
import { days, seedTenant } from '../../support/chime';
import { type CliStack, runCli, startCliStack } from './harness';

/**
 * Issue 21, part 3: `plan` and `report` read the ledger as the sync does, so on a tenant whose ledger is
 * fresh a plan costs what a steady-state sync costs: its list pages, and no DescribeAppInstanceUser for a
 * user the ledger knows. Counted by the emulator, the CLI run as an operator runs it.
 */
describe('plan and report read the ledger as the sync does', { timeout: 240_000 }, () => {
  let stack: CliStack;
  let arn: string;

  const USERS = [
    { appInstanceUserId: 'guest-1', ageMs: days(1) },
    { appInstanceUserId: 'guest-2', ageMs: days(2), expirationDays: 60 },
    { appInstanceUserId: 'emp-1', ageMs: days(50), expirationDays: 100 },
    { appInstanceUserId: 'user-1', ageMs: days(5) },
    { appInstanceUserId: 'user-2', ageMs: days(9), expirationDays: 365 },
    { appInstanceUserId: 'svc-1', ageMs: days(3), expirationDays: 40 }, // unmanaged: the sync never reads it
  ];

  /** Chime calls of each operation the emulator served while `work` ran. */
  const callsDuring = async (work: () => Promise<void>): Promise<Record<string, number>> => {
    const before = { ...stack.emulator.stats().calls };
    await work();
    const after = stack.emulator.stats().calls;
    return Object.fromEntries(
      Object.keys(after)
        .map((operation) => [operation, (after[operation] ?? 0) - (before[operation] ?? 0)] as const)
        .filter(([, count]) => count > 0),
    );
  };

  const plan = async (env?: NodeJS.ProcessEnv) => {
    const result = env
      ? await runCli(env, ['plan', '--tenant', 'ledger', '--json'])
      : await stack.cli('plan', '--tenant', 'ledger', '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as {
      summary: { users: number; unmanaged: number; unchanged: number; set: number };
      changes: { appInstanceUserId: string; currentDays: number | null; desiredDays: number | null }[];
    };
  };

  beforeAll(async () => {
    stack = await startCliStack();
    arn = seedTenant(stack.emulator, USERS, 'ledger');
    const put = await stack.cli(
      'policy',
      'put',
      await stack.write('ledger.json', policyDocument('ledger', arn)),
    );
    expect(put.code, put.stderr).toBe(0);
    // The first sync describes every managed user and records what it found and wrote in the ledger.
    const sync = await stack.cli('sync', '--tenant', 'ledger', '--approve-shortening');
    expect(sync.code, sync.stdout + sync.stderr).toBe(0);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('a plan of a tenant whose ledger is fresh makes no Describe call: only the list pages (and the admins)', async () => {
    let result: Awaited<ReturnType<typeof plan>> | undefined;
    const calls = await callsDuring(async () => {
      result = await plan();
    });
    expect(calls).toEqual({ ListAppInstanceAdmins: 1, ListAppInstanceUsers: 1 });
    // What the ledger says is what the sync left: every managed user as the policy wants it.
    expect(result?.summary).toMatchObject({ users: 6, unmanaged: 1, unchanged: 5, set: 0 });
    expect(result?.changes).toEqual([]);
  });

  it('a user the ledger does not know is described, once, and planned from what Chime says', async () => {
    stack.emulator.seed({
      appInstanceArn: arn,
      users: [
        {
          appInstanceUserId: 'guest-new',
          name: 'New',
          createdAt: new Date(stack.emulator.now().getTime() - days(1)).toISOString(),
          expirationDays: 90,
        },
      ],
    });
    let result: Awaited<ReturnType<typeof plan>> | undefined;
    const calls = await callsDuring(async () => {
      result = await plan();
    });
    expect(calls).toEqual({ ListAppInstanceAdmins: 1, ListAppInstanceUsers: 1, DescribeAppInstanceUser: 1 });
    expect(result?.changes).toEqual([
      expect.objectContaining({ appInstanceUserId: 'guest-new', currentDays: 90, desiredDays: 7 }),
    ]);
  });

  it('entries due for verification (the sync setting) are described again, as the sync would', async () => {
    // A verify interval of about a second: every entry is due (the spread is ½–1× per user).
    const env = { ...stack.env, CHIME_LIFECYCLE_VERIFY_INTERVAL_DAYS: '0.00001' };
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const calls = await callsDuring(async () => {
      await plan(env);
    });
    // Six managed users (svc-1 is unmanaged and never read).
    expect(calls.DescribeAppInstanceUser).toBe(6);
  });

  it('report reads the same: Describe only for the users neither the plan nor the ledger knows', async () => {
    const file = path.join(stack.dir, 'ledger.html');
    const calls = await callsDuring(async () => {
      const result = await stack.cli('report', '--tenant', 'ledger', '--html', file);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('tenant ledger, policy version 1, 7 users');
    });
    // guest-new (not in the ledger) for the plan, svc-1 (unmanaged, so never in the ledger) for its chart.
    expect(calls).toEqual({ ListAppInstanceAdmins: 1, ListAppInstanceUsers: 1, DescribeAppInstanceUser: 2 });
  });
});
