import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../../shared/contracts/lifecycle-events';
import { DAY_MS } from '../../../shared/policy';
import { syncInProcess } from '../../../shared/sync/pull-mode';
import { days, seedTenant } from '../../support/chime';
import { type CliStack, startCliStack } from '../cli/harness';

/** Exemptions that end and `explain`, through the CLI and the sync, against the emulator and DynamoDB Local. */
describe('exemptions and explain', { timeout: 300_000 }, () => {
  let stack: CliStack;
  let arn: string;
  let now: number;

  const document = (exemptions: unknown[]) => ({
    tenantId: 'exco',
    appInstanceArn: arn,
    rules: [
      { id: 'guests', priority: 10, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } },
      {
        id: 'trial',
        priority: 20,
        match: { metadata: { plan: ['trial', 'poc'] } },
        expiration: { days: 30 },
      },
    ],
    default: { expiration: { days: 365 } },
    safety: { minRemainingDays: 1, maxShorteningChanges: 1000, maxShorteningPercent: 100 },
    exemptions,
  });
  const vip = (until: number) => ({
    id: 'vip-pilot',
    match: { userIds: ['guest-vip'] },
    expiration: 'never',
    until: new Date(until).toISOString(),
    reason: 'pilot customer until the contract is signed',
    owner: 'sales-ops',
  });
  const expirationOf = async (id: string) =>
    (await stack.runtime.chimeUsers.describe(stack.runtime.chimeUsers.userArn(arn, id)))?.expirationDays;

  beforeAll(async () => {
    stack = await startCliStack();
    arn = seedTenant(
      stack.emulator,
      [
        { appInstanceUserId: 'guest-vip', ageMs: days(1) },
        { appInstanceUserId: 'guest-2', ageMs: days(1) },
        { appInstanceUserId: 'user-trial', ageMs: days(2), metadata: JSON.stringify({ plan: 'enterprise' }) },
      ],
      'exco',
    );
    now = Date.now();
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('refuses an exemption that already ended or ends more than 5 years ahead, naming it; warns about one no rule selects', async () => {
    const past = await stack.cli(
      'policy',
      'put',
      await stack.write('past.json', document([vip(now - DAY_MS)])),
    );
    expect(past.code).toBe(2);
    expect(past.stderr).toContain('exemptions[0].until: exemption "vip-pilot" ended at');
    const far = await stack.cli(
      'policy',
      'put',
      await stack.write('far.json', document([vip(now + 6 * 365 * DAY_MS)])),
    );
    expect(far.code).toBe(2);
    expect(far.stderr).toContain('exemption "vip-pilot" ends more than 5 years ahead');

    // Its ids are no guest's, and its metadata value is not one the trial rule accepts: no rule selects them.
    const stray = {
      ...vip(now + 20 * DAY_MS),
      id: 'stray',
      match: { userIds: ['svc-1'], metadata: { plan: 'enterprise' } },
    };
    const put = await stack.cli(
      'policy',
      'put',
      await stack.write('ok.json', document([vip(now + 10 * DAY_MS), stray])),
    );
    expect(put.code, put.stderr).toBe(0);
    expect(put.stderr).toContain(
      'warning: exemptions[1].match: exemption "stray" matches none of the users any rule selects',
    );

    const listed = await stack.cli('exemptions', '--tenant', 'exco', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(
      JSON.parse(listed.stdout).exemptions.map((e: { id: string; daysLeft: number }) => [e.id, e.daysLeft]),
    ).toEqual([
      ['vip-pilot', 10],
      ['stray', 20],
    ]);
    const table = await stack.cli('exemptions', '--tenant', 'exco');
    expect(table.stdout).toMatch(/vip-pilot .* 10 .*never .*sales-ops/);
  });

  it('an exemption wins over the rules until it ends, then the rules apply again; Exemption Ending goes out once', async () => {
    const synced = await stack.cli('sync', '--tenant', 'exco');
    expect(synced.code, synced.stderr).toBe(0);
    expect(await expirationOf('guest-vip')).toBeUndefined();
    expect(await expirationOf('guest-2')).toBe(7);

    const events: LifecycleEvent[] = [];
    const sync = () =>
      syncInProcess(['exco'], (queue) => ({
        ...stack.runtime.reconcileDeps({
          queue,
          now: () => stack.emulator.now().getTime(),
        }),
        events: { publish: async (batch) => void events.push(...batch) },
      }));
    // Four days on, the exemption ends in six: announced once, however many runs see it.
    stack.emulator.advanceClock(4 * 86_400);
    await sync();
    await sync();
    const ending = events.filter((event) => event.type === 'Exemption Ending');
    expect(ending.map((event) => event.detail)).toEqual([
      {
        tenantId: 'exco',
        exemptionId: 'vip-pilot',
        until: new Date(now + 10 * DAY_MS).toISOString(),
        owner: 'sales-ops',
        policyVersion: 1,
      },
    ]);
    expect(await expirationOf('guest-vip')).toBeUndefined();

    // Past its until (the user is now 12 days and some seconds old): guests get 7 days, already past, so the
    // floor keeps one day from now: the whole days that reach 13 days and some seconds, 14.
    stack.emulator.advanceClock(7 * 86_400);
    const [after] = await sync();
    expect(after?.run?.state).toBe('completed');
    expect(await expirationOf('guest-vip')).toBe(14);
  });

  it('explain: Chime now, each rule tried and why, the decision, the ledger and the history, never the name', async () => {
    const explained = await stack.cli('explain', '--tenant', 'exco', '--user', 'user-trial', '--json');
    expect(explained.code, explained.stderr).toBe(0);
    const report = JSON.parse(explained.stdout);
    expect(report.chime).toMatchObject({ expirationDays: 365 });
    expect(report.admin).toBe(false);
    expect(
      report.explanation.steps.map((s: { id: string; matched: boolean; why: string }) => [
        s.id,
        s.matched,
        s.why,
      ]),
    ).toEqual([
      // explain runs at the real clock, where the exemption still runs (the emulator's clock moved on).
      ['vip-pilot', false, 'user id is not among its 1 user ids'],
      ['stray', false, 'user id is not among its 1 user ids'],
      ['guests', false, 'user id does not start with "guest-"'],
      ['trial', false, `metadata key "plan": the user's value is none of "trial", "poc"`],
    ]);
    expect(report.explanation.decision).toMatchObject({
      source: 'default',
      intendedDays: 365,
      changes: false,
    });
    expect(report.ledger).toMatchObject({
      appInstanceUserId: 'user-trial',
      expirationDays: 365,
      appliedPolicyVersion: 1,
    });
    expect(report.history).toEqual([{ version: 1, updatedAt: expect.any(String), change: 'added' }]);
    expect(explained.stdout).not.toContain('enterprise');
    expect(explained.stdout).not.toContain('User user-trial');

    // guest-vip, at the real clock: its exemption still runs and decides before any rule.
    const text = await stack.cli('explain', '--tenant', 'exco', '--user', 'guest-vip');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('✔ exemption vip-pilot: matched');
    expect(text.stdout).toContain('not tried (an earlier match decided): guests, trial');
    expect(text.stdout).toContain('governed by: exemption vip-pilot');
    expect(text.stdout).toContain('target: never');
    expect(text.stdout).not.toContain('User guest-vip');

    const unknownUser = await stack.cli('explain', '--tenant', 'exco', '--user', 'nobody');
    expect(unknownUser.code).toBe(5); // not found
    expect(unknownUser.stderr).toContain('unknown user nobody');
    const unknownTenant = await stack.cli('explain', '--tenant', 'nope', '--user', 'guest-2');
    expect(unknownTenant.code).toBe(5);
    expect(unknownTenant.stderr).toContain('unknown tenant nope');
  });
});
