import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PutAppInstanceUserExpirationSettingsCommand } from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { days, seedTenant } from '../../support/chime';
import { type CliStack, startCliStack } from '../cli/harness';

/** Approving an exact plan, through the CLI as an operator runs it, against the emulator and DynamoDB Local. */
describe('plan --out and sync --apply', { timeout: 240_000 }, () => {
  let stack: CliStack;
  let arn: string;

  const policy = (version: string) => ({
    tenantId: 'planco',
    appInstanceArn: arn,
    rules: [{ id: 'guests', priority: 10, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } }],
    default: { expiration: { days: 365 } },
    // Every shortening is held: the run waits for an approval.
    safety: { minRemainingDays: 1, maxShorteningChanges: 0, maxShorteningPercent: 0 },
    ...(version === 'v2' ? { enabled: true, protectAdmins: true } : {}),
  });
  const expirationOf = async (id: string) =>
    (await stack.runtime.chimeUsers.describe(stack.runtime.chimeUsers.userArn(arn, id)))?.expirationDays;

  beforeAll(async () => {
    stack = await startCliStack();
    arn = seedTenant(
      stack.emulator,
      [
        { appInstanceUserId: 'guest-1', ageMs: days(1) },
        { appInstanceUserId: 'guest-2', ageMs: days(2), expirationDays: 90 },
        { appInstanceUserId: 'guest-drift', ageMs: days(1) },
        { appInstanceUserId: 'user-ok', ageMs: days(3), expirationDays: 365 },
      ],
      'planco',
    );
    const put = await stack.cli('policy', 'put', await stack.write('policy.json', policy('v1')));
    expect(put.code, put.stderr).toBe(0);
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('releases a held run with the exact reviewed changes; a hand-edited plan is refused as a whole; drift is skipped', async () => {
    const held = await stack.cli('sync', '--tenant', 'planco');
    expect(held.code, held.stderr).toBe(3);
    expect(held.stdout).toContain('--apply plan.json');
    expect(await expirationOf('guest-1')).toBeUndefined();

    const out = path.join(stack.dir, 'plan.json');
    const planned = await stack.cli('plan', '--tenant', 'planco', '--out', out);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stderr).toMatch(
      /wrote .*plan\.json: 3 change\(s\), policy version 1, valid until .*, sha256 [0-9a-f]{64}/,
    );
    const file = JSON.parse(await readFile(out, 'utf8'));
    expect(file).toMatchObject({ tenantId: 'planco', policyVersion: 1, format: 'chime-lifecycle-plan/2' });
    expect(Date.parse(file.expiresAt) - Date.parse(file.generatedAt)).toBe(24 * 3_600_000);
    expect(file.changes.map((c: { appInstanceUserId: string }) => c.appInstanceUserId)).toEqual([
      'guest-1',
      'guest-2',
      'guest-drift',
    ]);

    // One desired value changed by hand: the whole plan is refused, nothing is written.
    const edited = structuredClone(file);
    edited.changes[1].desired.expirationDays = 3;
    const refused = await stack.cli(
      'sync',
      '--tenant',
      'planco',
      '--apply',
      await stack.write('edited.json', edited),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('does not match its sha256');
    expect(refused.stderr).toContain('nothing applied');
    expect(await expirationOf('guest-1')).toBeUndefined();
    expect(await expirationOf('guest-2')).toBe(90);

    // Someone changes one user after the review: that one is skipped as drift, the rest applied.
    await stack.runtime.chime.send(
      new PutAppInstanceUserExpirationSettingsCommand({
        AppInstanceUserArn: stack.runtime.chimeUsers.userArn(arn, 'guest-drift'),
        ExpirationSettings: { ExpirationDays: 30, ExpirationCriterion: 'CREATED_TIMESTAMP' },
      }),
    );
    const applied = await stack.cli('sync', '--tenant', 'planco', '--apply', out, '--json');
    expect(applied.code, applied.stderr).toBe(4);
    const result = JSON.parse(applied.stdout);
    expect(result).toMatchObject({ tenantId: 'planco', sha256: file.sha256, applied: 2, skipped: 1 });
    expect(result.changes).toContainEqual({
      appInstanceUserId: 'guest-drift',
      outcome: 'drifted',
      found: 30,
    });
    expect(await expirationOf('guest-1')).toBe(7);
    expect(await expirationOf('guest-2')).toBe(7);
    expect(await expirationOf('guest-drift')).toBe(30);
    expect(await expirationOf('user-ok')).toBe(365);

    // The held changes that were applied left the pending list.
    const pending: string[] = [];
    for await (const item of stack.runtime.runs.pending('planco')) pending.push(item.appInstanceUserId);
    expect(pending).toEqual(['guest-drift']);

    const events = stack.eventBridge.events.filter((event) => event.detailType === 'Plan Applied');
    expect(events.map((event) => event.detail)).toEqual([
      {
        tenantId: 'planco',
        sha256: file.sha256,
        policyVersion: 1,
        generatedAt: file.generatedAt,
        applied: 2,
        skipped: 1,
        drifted: 1,
      },
    ]);

    // The stored policy moves on: the old plan is refused as a whole.
    const put = await stack.cli('policy', 'put', await stack.write('policy2.json', policy('v2')));
    expect(put.code, put.stderr).toBe(0);
    const stale = await stack.cli('sync', '--tenant', 'planco', '--apply', out);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toContain('made from policy version 1, but version 2 is stored now');
  });
});
