import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../shared/policy';
import { days, hours, seedTenant } from '../../support/chime';
import { type CliStack, startCliStack } from '../cli/harness';

/**
 * `explain` decides with the recorded activity exactly as the sync does: through the real CLI against the
 * emulator and DynamoDB Local, an `inactiveDays` user with recorded activity is explained, then synced, and
 * what explain said would be written is what the sync wrote.
 */
describe('explain and sync agree for a user that renews by activity', { timeout: 300_000 }, () => {
  let stack: CliStack;
  let arn: string;
  let lastActiveAt: number;

  const explain = async (user: string) => {
    const result = await stack.cli('explain', '--tenant', 'renew', '--user', user, '--json');
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as {
      activity: { lastActiveAt: string | null; usedByPolicy: boolean };
      explanation: {
        decision: { desired: { kind: string; days?: number }; changes: boolean; reason: string };
      };
    };
  };
  const expirationOf = async (id: string) =>
    (await stack.runtime.chimeUsers.describe(stack.runtime.chimeUsers.userArn(arn, id)))?.expirationDays;

  beforeAll(async () => {
    stack = await startCliStack();
    // Created 100 days ago, expiring in 10: counted from creation alone, 30 days of inactivity are long past
    // (the floor would then shorten it to tomorrow); counted from the activity an hour ago, it renews to
    // 130 days from creation.
    arn = seedTenant(
      stack.emulator,
      [
        { appInstanceUserId: 'active-1', ageMs: days(100), expirationDays: 110 },
        { appInstanceUserId: 'active-2', ageMs: days(100), expirationDays: 110 },
      ],
      'renew',
    );
    const put = await stack.cli(
      'policy',
      'put',
      await stack.write('renew.json', {
        tenantId: 'renew',
        appInstanceArn: arn,
        rules: [
          {
            id: 'active',
            priority: 1,
            match: { userIdPrefix: 'active-' },
            expiration: { inactiveDays: 30 },
          },
        ],
        safety: { minRemainingDays: 1, maxShorteningChanges: 100, maxShorteningPercent: 100 },
      }),
    );
    expect(put.code, put.stderr).toBe(0);
    lastActiveAt = Date.now() - hours(1);
    // Recorded where the sync reads it (the activity store); active-2 has none.
    await stack.runtime.activity.record({
      tenantId: 'renew',
      appInstanceUserId: 'active-1',
      at: lastActiveAt,
    });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('shows the recorded activity and decides with it; the sync then writes exactly that', async () => {
    const before = await explain('active-1');
    expect(before.activity).toEqual({
      lastActiveAt: new Date(lastActiveAt).toISOString(),
      usedByPolicy: true,
    });
    const createdAt = (
      await stack.runtime.chimeUsers.describe(stack.runtime.chimeUsers.userArn(arn, 'active-1'))
    )?.createdAt as number;
    const renewal = Math.ceil((lastActiveAt + 30 * DAY_MS - createdAt) / DAY_MS);
    expect(before.explanation.decision.desired).toEqual({ kind: 'set', days: renewal });
    // Without activity: counted from creation, floored to tomorrow.
    const unrecorded = await explain('active-2');
    expect(unrecorded.activity).toEqual({ lastActiveAt: null, usedByPolicy: true });
    const floored = unrecorded.explanation.decision.desired;

    const sync = await stack.cli('sync', '--tenant', 'renew', '--json');
    expect(sync.code, sync.stderr).toBe(0);
    expect(await expirationOf('active-1')).toBe(renewal);
    expect(await expirationOf('active-2')).toBe(floored.days);
    expect(floored.days).toBeLessThan(renewal);

    // Once written, explain and the sync agree there is nothing left to do.
    const after = await explain('active-1');
    expect(after.explanation.decision.changes).toBe(false);
  });

  it('prints the recorded activity in the text report', async () => {
    const text = await stack.cli('explain', '--tenant', 'renew', '--user', 'active-1');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      `last recorded activity: ${new Date(lastActiveAt).toISOString()} (decided with, as the sync does)`,
    );
  });
});
