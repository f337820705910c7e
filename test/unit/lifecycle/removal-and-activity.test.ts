import { describe, expect, it } from 'vitest';
import { cloudTrailEntry } from '../../../emulator';
import { activityMessageSchema, coalesceActivity } from '../../../shared/activity/message';
import { batchWinners, recordActivity } from '../../../shared/activity/record';
import { assertValidEvent, type LifecycleEvent } from '../../../shared/contracts/lifecycle-events';
import { chimeRemovalEventSchema, onUserRemoved, removalOf } from '../../../shared/sync/user-removed';

const APP = 'arn:aws:chime:us-east-1:123456789012:app-instance/app';
const USER = `${APP}/user/u-1`;
const where = { region: 'us-east-1', accountId: '123456789012' };
const at = Date.UTC(2026, 11, 1, 10, 0, 0);

const delivered = (entry: ReturnType<typeof cloudTrailEntry>) =>
  chimeRemovalEventSchema.parse({
    source: entry.Source,
    'detail-type': entry.DetailType,
    time: entry.Time.toISOString(),
    detail: JSON.parse(entry.Detail),
  });

describe('removalOf', () => {
  it('reads the user and the instant of an expiry and of a delete', () => {
    expect(removalOf(delivered(cloudTrailEntry(USER, 'expired', at, where)), at + 1)).toEqual({
      appInstanceArn: APP,
      appInstanceUserArn: USER,
      appInstanceUserId: 'u-1',
      reason: 'expired',
      at,
    });
    expect(removalOf(delivered(cloudTrailEntry(USER, 'deleted', at, where)), at + 1)?.reason).toBe('deleted');
  });

  it('decodes a URL-encoded ARN and ignores failed calls and other events', () => {
    const encoded = chimeRemovalEventSchema.parse({
      source: 'aws.chime',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {
        eventName: 'DeleteAppInstanceUser',
        requestParameters: { appInstanceUserArn: encodeURIComponent(USER) },
      },
    });
    expect(removalOf(encoded, at)).toMatchObject({ appInstanceUserArn: USER, at });
    const failed = chimeRemovalEventSchema.parse({
      source: 'aws.chime',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {
        eventName: 'DeleteAppInstanceUser',
        errorCode: 'NotFound',
        requestParameters: { appInstanceUserArn: USER },
      },
    });
    expect(removalOf(failed, at)).toBeNull();
    const bot = chimeRemovalEventSchema.parse({
      source: 'aws.chime',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: { eventName: 'DeleteAppInstanceBot', requestParameters: { appInstanceBotArn: `${APP}/bot/b` } },
    });
    expect(removalOf(bot, at)).toBeNull();
  });
});

describe('onUserRemoved', () => {
  const run = async (tenant: string | null, inLedger: boolean) => {
    const published: LifecycleEvent[] = [];
    const marked: unknown[] = [];
    const result = await onUserRemoved(delivered(cloudTrailEntry(USER, 'expired', at, where)), {
      tenantOf: async (arn) => (arn === APP ? tenant : null),
      // Chime no longer has the user (test/unit/sync/user-removed.test.ts: one it still has).
      users: { describe: async () => null },
      markRemoved: async (...args) => {
        marked.push(args);
        return inLedger;
      },
      events: {
        publish: async (events) => {
          for (const event of events) assertValidEvent(event);
          published.push(...events);
        },
      },
      log: { info: () => {}, warn: () => {}, error: () => {} },
      now: () => at + 1,
    });
    return { result, published, marked };
  };

  it('marks the ledger entry gone with the reason and publishes User Expired', async () => {
    const { result, published, marked } = await run('acme', true);
    expect(result.outcome).toBe('marked');
    expect(marked).toEqual([['acme', 'u-1', at, 'expired']]);
    expect(published).toEqual([
      {
        type: 'User Expired',
        detail: {
          tenantId: 'acme',
          appInstanceUserArn: USER,
          appInstanceUserId: 'u-1',
          reason: 'expired',
          at: new Date(at).toISOString(),
          ledgerMarked: true,
        },
      },
    ]);
  });

  it('still publishes for a user the ledger never saw, and ignores AppInstances no tenant manages', async () => {
    expect((await run('acme', false)).result.outcome).toBe('not-in-ledger');
    const unmanaged = await run(null, true);
    expect(unmanaged.result.outcome).toBe('unmanaged-app-instance');
    expect(unmanaged.published).toEqual([]);
    expect(unmanaged.marked).toEqual([]);
  });
});

describe('activity', () => {
  it('parses ISO instants and epoch milliseconds, and rejects unknown keys', () => {
    expect(
      activityMessageSchema.parse({ tenantId: 't', appInstanceUserId: 'u', at: '2026-12-01T10:00:00Z' }).at,
    ).toBe(at);
    expect(activityMessageSchema.parse({ tenantId: 't', appInstanceUserId: 'u', at }).at).toBe(at);
    expect(
      activityMessageSchema.safeParse({ tenantId: 't', appInstanceUserId: 'u', at, name: 'x' }).success,
    ).toBe(false);
    expect(
      activityMessageSchema.safeParse({ tenantId: 't', appInstanceUserId: 'u', at: 'yesterday' }).success,
    ).toBe(false);
  });

  it('coalesces a batch into the latest event per user', () => {
    const events = [
      { tenantId: 't', appInstanceUserId: 'a', at: 1 },
      { tenantId: 't', appInstanceUserId: 'a', at: 3 },
      { tenantId: 't', appInstanceUserId: 'a', at: 2 },
      { tenantId: 'u', appInstanceUserId: 'a', at: 1 },
    ];
    expect(coalesceActivity(events)).toEqual([
      { tenantId: 't', appInstanceUserId: 'a', at: 3 },
      { tenantId: 'u', appInstanceUserId: 'a', at: 1 },
    ]);
  });

  it('writes once per user and counts the refused updates', async () => {
    const latest = new Map<string, number>([['t\u0000a', 10]]);
    const tally = await recordActivity(
      [
        { tenantId: 't', appInstanceUserId: 'a', at: 5 },
        { tenantId: 't', appInstanceUserId: 'b', at: 5 },
        { tenantId: 't', appInstanceUserId: 'b', at: 6 },
      ],
      {
        record: async (event) => {
          const key = `${event.tenantId}\u0000${event.appInstanceUserId}`;
          if ((latest.get(key) ?? -1) >= event.at) return 'stale';
          latest.set(key, event.at);
          return 'advanced';
        },
      },
    );
    expect(tally).toEqual({ events: 3, updates: 2, advanced: 1, stale: 1 });
    expect(latest.get('t\u0000b')).toBe(6);
  });

  it('picks one record per user in a queue batch: the one with the latest activity', () => {
    const winners = batchWinners([
      { messageId: 'm1', event: { tenantId: 't', appInstanceUserId: 'a', at: 1 } },
      { messageId: 'm2', event: { tenantId: 't', appInstanceUserId: 'a', at: 2 } },
      { messageId: 'm3', event: null },
      { messageId: 'm4', event: { tenantId: 't', appInstanceUserId: 'b', at: 1 } },
    ]);
    expect([...winners].sort()).toEqual(['m2', 'm4']);
  });
});
