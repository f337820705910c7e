import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CreateAppInstanceAdminCommand } from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_PLAN_CHANGES,
  type PlanFile,
  type PlanFileContent,
  planHash,
} from '../../../shared/sync/plan-file';
import { days, seedTenant } from '../../support/chime';
import { type CliStack, startCliStack } from '../cli/harness';

/**
 * Plan files as an attacker writes them, through the real CLI against the emulator and DynamoDB Local: a
 * file is a claim, and `sync --apply` writes only what `plan --out` issued, once, as the policy decides.
 */
describe('sync --apply trusts no plan file', { timeout: 300_000 }, () => {
  let stack: CliStack;
  let arnA: string;
  let arnB: string;
  let plans = 0;

  const policy = (tenantId: string, appInstanceArn: string) => ({
    tenantId,
    appInstanceArn,
    rules: [{ id: 'guests', priority: 10, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } }],
    default: { expiration: { days: 365 } },
    safety: { minRemainingDays: 1, maxShorteningChanges: 1000, maxShorteningPercent: 100 },
  });
  const expirationOf = async (arn: string, id: string) =>
    (await stack.runtime.chimeUsers.describe(stack.runtime.chimeUsers.userArn(arn, id)))?.expirationDays;
  const snapshot = async () => ({
    a: await Promise.all(['guest-1', 'guest-2', 'user-ok'].map((id) => expirationOf(arnA, id))),
    b: await Promise.all(['boss', 'guest-b'].map((id) => expirationOf(arnB, id))),
  });
  const appliedEvents = () => stack.eventBridge.events.filter((event) => event.detailType === 'Plan Applied');

  /** A fresh plan of tenant A from `plan --out`: issued, with its path and content. */
  async function issuedPlan(): Promise<{ file: string; plan: PlanFile }> {
    const file = path.join(stack.dir, `plan-${++plans}.json`);
    const made = await stack.cli('plan', '--tenant', 'trusta', '--out', file);
    expect(made.code, made.stderr).toBe(0);
    return { file, plan: JSON.parse(await readFile(file, 'utf8')) as PlanFile };
  }
  /** The content edited and the hash recomputed: what anyone who can edit the file can do. */
  const reseal = (plan: PlanFile, edit: (content: PlanFileContent) => PlanFileContent): PlanFile => {
    const { sha256: _old, ...content } = structuredClone(plan);
    const edited = edit(content);
    return { ...edited, sha256: planHash(edited) };
  };
  const patch = (content: PlanFileContent, id: string, fields: Record<string, unknown>) => ({
    ...content,
    changes: content.changes.map((change) =>
      change.appInstanceUserId === id ? { ...change, ...fields } : change,
    ),
  });
  const apply = async (plan: PlanFile) =>
    stack.cli('sync', '--tenant', 'trusta', '--apply', await stack.write(`forged-${++plans}.json`, plan));

  beforeAll(async () => {
    stack = await startCliStack();
    arnA = seedTenant(
      stack.emulator,
      [
        { appInstanceUserId: 'guest-1', ageMs: days(1) },
        { appInstanceUserId: 'guest-2', ageMs: days(2), expirationDays: 90 },
        { appInstanceUserId: 'user-ok', ageMs: days(3), expirationDays: 365 },
      ],
      'trusta',
    );
    arnB = seedTenant(
      stack.emulator,
      [
        { appInstanceUserId: 'boss', ageMs: days(300) },
        { appInstanceUserId: 'guest-b', ageMs: days(1) },
      ],
      'trustb',
    );
    await stack.runtime.chime.send(
      new CreateAppInstanceAdminCommand({
        AppInstanceArn: arnB,
        AppInstanceAdminArn: stack.runtime.chimeUsers.userArn(arnB, 'boss'),
      }),
    );
    for (const [tenantId, arn] of [
      ['trusta', arnA],
      ['trustb', arnB],
    ] as const) {
      const put = await stack.cli(
        'policy',
        'put',
        await stack.write(`${tenantId}.json`, policy(tenantId, arn)),
      );
      expect(put.code, put.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('refuses, as a whole and writing nothing, every hand-made or resealed file', async () => {
    const { plan } = await issuedPlan();
    const before = await snapshot();
    // [case, forged file, what the refusal says]
    const forgeries: [string, PlanFile, RegExp][] = [
      [
        'a change naming another tenant’s admin',
        reseal(plan, (c) =>
          patch(c, 'guest-1', { appInstanceUserArn: stack.runtime.chimeUsers.userArn(arnB, 'boss') }),
        ),
        /carry a user ARN that is not their user's in the tenant's AppInstance \(guest-1\)/,
      ],
      [
        'the plan moved to another tenant’s AppInstance',
        reseal(plan, (c) => ({
          ...c,
          appInstanceArn: arnB,
          changes: c.changes.map((change) => ({
            ...change,
            appInstanceUserArn: stack.runtime.chimeUsers.userArn(arnB, change.appInstanceUserId),
          })),
        })),
        /the plan names AppInstance .* but the policy of tenant trusta governs/,
      ],
      [
        'one user id carrying another user’s ARN',
        reseal(plan, (c) =>
          patch(c, 'guest-1', { appInstanceUserArn: stack.runtime.chimeUsers.userArn(arnA, 'user-ok') }),
        ),
        /not their user's/,
      ],
      [
        'a value the policy does not give (1 day for a guest created a day ago)',
        reseal(plan, (c) => patch(c, 'guest-1', { desired: { expirationDays: 1 } })),
        /no plan with sha256 [0-9a-f]{64} was issued for tenant trusta/,
      ],
      [
        'an expiry years ahead',
        reseal(plan, (c) => ({
          ...c,
          expiresAt: new Date(Date.parse(c.generatedAt) + days(3 * 365)).toISOString(),
        })),
        /a plan is valid for more than 0 and at most 30 days/,
      ],
      [
        'one user twice',
        reseal(plan, (c) => ({
          ...c,
          changes: [
            ...c.changes,
            { ...c.changes[0], desired: { expirationDays: 9 } },
          ] as PlanFileContent['changes'],
        })),
        /changes 1 user\(s\) more than once \(guest-1\)/,
      ],
      [
        `${MAX_PLAN_CHANGES + 1} changes`,
        reseal(plan, (c) => ({
          ...c,
          changes: Array.from({ length: MAX_PLAN_CHANGES + 1 }, (_, i) => ({
            ...(c.changes[0] as PlanFileContent['changes'][number]),
            appInstanceUserId: `guest-x${i}`,
            appInstanceUserArn: stack.runtime.chimeUsers.userArn(arnA, `guest-x${i}`),
          })),
        })),
        /the plan has 10001 changes; a plan holds at most 10000/,
      ],
    ];
    for (const [name, forged, says] of forgeries) {
      const result = await apply(forged);
      expect(result.code, `${name}: ${result.stderr}`).toBe(2);
      expect(result.stderr, name).toMatch(says);
      expect(result.stderr, name).toContain('nothing applied');
    }
    expect(await snapshot()).toEqual(before);
    expect(appliedEvents()).toEqual([]);
  });

  it('refuses an issued record whose change the policy does not give (someone wrote the state table)', async () => {
    const { plan } = await issuedPlan();
    const forged = reseal(plan, (c) => patch(c, 'guest-1', { desired: { expirationDays: 1 } }));
    await stack.runtime.issuedPlans.issue({
      tenantId: forged.tenantId,
      sha256: forged.sha256,
      policyVersion: forged.policyVersion,
      generatedAt: forged.generatedAt,
      expiresAt: forged.expiresAt,
      changes: forged.changes.length,
    });
    const before = await snapshot();
    const result = await apply(forged);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(
      'guest-1: the policy decides set 7d by guests, shortening; the plan says 1d by guests, shortening',
    );
    expect(result.stderr).toContain('nothing applied');
    expect(await snapshot()).toEqual(before);
  });

  it('applies an issued plan once: a replay and a concurrent second apply write nothing and say so', async () => {
    const { file, plan } = await issuedPlan();
    expect(plan.changes.map((change) => change.appInstanceUserId)).toEqual(['guest-1', 'guest-2']);
    const [first, second] = await Promise.all([
      stack.cli('sync', '--tenant', 'trusta', '--apply', file),
      stack.cli('sync', '--tenant', 'trusta', '--apply', file),
    ]);
    const codes = [first?.code, second?.code].sort();
    // One applies (0); the other found the lease taken (1) or the plan consumed (6, conflict).
    expect(codes[0], `${first?.stderr}${second?.stderr}`).toBe(0);
    expect([1, 6]).toContain(codes[1]);
    expect(`${first?.stderr}${second?.stderr}`).toMatch(/is busy: plan-|was already applied/);
    expect((await snapshot()).a).toEqual([7, 7, 365]);
    expect(appliedEvents()).toHaveLength(1);

    const replay = await stack.cli('sync', '--tenant', 'trusta', '--apply', file);
    expect(replay.code).toBe(6);
    expect(replay.stderr).toMatch(
      /plan [0-9a-f]{64} was already applied at .* \(applied 2, skipped 0\); a plan applies once/,
    );
    expect(replay.stderr).not.toContain('drift');
    expect(appliedEvents()).toHaveLength(1);
  });

  it('never overlaps a run: refused while a run holds the tenant’s lease, applied once it is released', async () => {
    const guest = stack.runtime.chimeUsers.userArn(arnA, 'guest-3');
    stack.emulator.seed({
      appInstanceArn: arnA,
      users: [
        {
          appInstanceUserId: 'guest-3',
          name: 'User guest-3',
          createdAt: new Date(Date.now() - days(1)).toISOString(),
        },
      ],
    });
    const { file, plan } = await issuedPlan();
    expect(plan.changes.map((change) => change.appInstanceUserId)).toEqual(['guest-3']);
    await stack.runtime.runs.acquireLease('trusta', 'run-in-progress', Date.now(), 60_000);
    const busy = await stack.cli('sync', '--tenant', 'trusta', '--apply', file);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('tenant trusta is busy: run-in-progress holds its run lease');
    expect((await stack.runtime.chimeUsers.describe(guest))?.expirationDays).toBeUndefined();
    await stack.runtime.runs.releaseLease('trusta', 'run-in-progress');
    const applied = await stack.cli('sync', '--tenant', 'trusta', '--apply', file);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await stack.runtime.chimeUsers.describe(guest))?.expirationDays).toBe(7);
    expect(await stack.runtime.runs.activeLease('trusta', Date.now())).toBeNull();
  });
});
