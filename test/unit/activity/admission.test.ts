import { describe, expect, it } from 'vitest';
import {
  ActivityAdmission,
  ActivityRefusedError,
  MAX_ACTIVITY_LEAD_MS,
  refusalsOf,
} from '../../../shared/activity/admission';
import { activityRecorder, UNKNOWN_USER_GRACE_MS } from '../../../shared/activity/batch';
import type { ActivityEvent } from '../../../shared/contracts/activity';
import { isRetryable } from '../../../shared/errors';
import { FakeLedger, FakePolicies } from '../../support/fakes';

const NOW = Date.UTC(2026, 5, 1, 12);
const DAY = 86_400_000;
const RENEWING = {
  rules: [{ id: 'renew', priority: 1, match: { userIdPrefix: 'u-' }, expiration: { inactiveDays: 30 } }],
};

/** Tenant `renew` renews by activity and knows u-1 and u-2 (u-gone was deleted); `fixed` has no inactiveDays. */
function ports() {
  const policies = new FakePolicies();
  policies.put('renew', RENEWING);
  policies.put('fixed');
  const ledger = new FakeLedger();
  for (const id of ['u-1', 'u-2', 'u-gone']) {
    ledger.entries.set(id, {
      appInstanceUserId: id,
      createdAt: NOW - 10 * 86_400_000,
      expirationDays: 30,
      verifiedAt: NOW,
      ...(id === 'u-gone' ? { goneAt: NOW - 1_000 } : {}),
    });
  }
  let ledgerReads = 0;
  const counted = {
    getMany: (tenantId: string, ids: readonly string[]) => {
      ledgerReads++;
      // The fake keeps one tenant's entries: only `renew` has any.
      return tenantId === 'renew' ? ledger.getMany(tenantId, ids) : Promise.resolve(new Map());
    },
  };
  return { policies, ledger: counted, now: () => NOW, reads: () => ledgerReads };
}

const event = (overrides: Partial<ActivityEvent> = {}): ActivityEvent => ({
  tenantId: 'renew',
  appInstanceUserId: 'u-1',
  at: NOW - 60_000,
  ...overrides,
});

describe('activity admission: derived from the clock, the stored policy and the ledger', () => {
  // [case, event, refusal reason (null: recorded)]
  it.each<[string, Partial<ActivityEvent>, string | null]>([
    ['a known user, a minute ago', {}, null],
    ['a known user, years ago', { at: NOW - 3 * 365 * DAY }, null],
    ['a clock a little fast: 4 minutes ahead', { at: NOW + 4 * 60_000 }, null],
    ['exactly the tolerated lead', { at: NOW + MAX_ACTIVITY_LEAD_MS }, null],
    ['just past the tolerated lead', { at: NOW + MAX_ACTIVITY_LEAD_MS + 1 }, 'activity-in-future'],
    ['the year 2100', { at: Date.UTC(2100, 0, 1) }, 'activity-in-future'],
    ['the largest instant a Date holds', { at: 8_640_000_000_000_000 }, 'activity-in-future'],
    ['a tenant without a policy', { tenantId: 'nobody' }, 'tenant-not-found'],
    ['a tenant whose policy has no inactiveDays', { tenantId: 'fixed' }, 'tenant-without-renewal'],
    ['a user the ledger never saw (another AppInstance)', { appInstanceUserId: 'b-9' }, 'user-not-in-tenant'],
    ['a user the ledger marked gone', { appInstanceUserId: 'u-gone' }, 'user-not-in-tenant'],
    [
      'the future is refused before anything is read',
      { tenantId: 'nobody', at: NOW + DAY },
      'activity-in-future',
    ],
  ])('%s', async (_case, overrides, reason) => {
    const refusal = await new ActivityAdmission(ports()).refusal(event(overrides));
    if (reason === null) {
      expect(refusal).toBeNull();
      return;
    }
    expect(refusal).toBeInstanceOf(ActivityRefusedError);
    expect(refusal?.reason).toBe(reason);
    expect(isRetryable(refusal)).toBe(false);
  });

  it('reads each tenant’s ledger once for all the users of a batch', async () => {
    const deps = ports();
    const events = [event(), event({ appInstanceUserId: 'u-2' }), event({ appInstanceUserId: 'x' })];
    const refused = await refusalsOf(events, deps);
    expect(refused.map(({ index, refusal }) => [index, refusal.reason])).toEqual([[2, 'user-not-in-tenant']]);
    expect(deps.reads()).toBe(1);
  });
});

describe('activity recorder (the queue consumer’s use case)', () => {
  /** Records every message of one batch, as the queue driver hands them over; what each one gave. */
  async function recordBatch(messages: { messageId: string; event: ActivityEvent }[], sentAt?: number) {
    const written: ActivityEvent[] = [];
    const recorder = activityRecorder({
      ...ports(),
      store: {
        record: async (recorded: ActivityEvent) => {
          written.push(recorded);
          return 'advanced' as const;
        },
      },
    });
    const batch = messages.map(({ messageId, event }) => ({ messageId, message: event }));
    const results: Record<string, string> = {};
    for (const { messageId, event } of messages) {
      try {
        results[messageId] = await recorder.record(event, { messageId, batch, sentAt });
      } catch (error) {
        const reason = (error as { reason?: string }).reason;
        results[messageId] = reason ?? (isRetryable(error) ? 'retried' : String(error));
      }
    }
    return { results, written };
  }

  it('refuses the future event and still records the valid one it would have settled', async () => {
    const { results, written } = await recordBatch([
      { messageId: 'valid', event: event({ at: NOW - 1_000 }) },
      { messageId: 'future', event: event({ at: Date.UTC(2100, 0, 1) }) },
    ]);
    expect(results).toEqual({ valid: 'advanced', future: 'activity-in-future' });
    expect(written).toEqual([event({ at: NOW - 1_000 })]);
  });

  it('coalesces the valid events of a user into its latest', async () => {
    const { results, written } = await recordBatch([
      { messageId: 'm1', event: event({ at: NOW - 2_000 }) },
      { messageId: 'm2', event: event({ at: NOW - 1_000 }) },
    ]);
    expect(results).toEqual({ m1: 'coalesced', m2: 'advanced' });
    expect(written).toEqual([event({ at: NOW - 1_000 })]);
  });

  // [case, sent how long ago (undefined: SQS did not say), outcome of an unknown user's events]
  it.each<[string, number | undefined, string]>([
    ['just sent: it may be being onboarded, retried', 2_000, 'retried'],
    ['sent within the grace', UNKNOWN_USER_GRACE_MS - 1, 'retried'],
    ['sent longer ago than the grace: refused', UNKNOWN_USER_GRACE_MS, 'user-not-in-tenant'],
    ['no send time: refused', undefined, 'user-not-in-tenant'],
  ])('an unknown user’s every event, %s; other refusals never wait', async (_case, ago, outcome) => {
    const { results, written } = await recordBatch(
      [
        { messageId: 'm1', event: event({ appInstanceUserId: 'b-1', at: NOW - 2_000 }) },
        { messageId: 'm2', event: event({ appInstanceUserId: 'b-1', at: NOW - 1_000 }) },
        { messageId: 'm3', event: event({ tenantId: 'nobody' }) },
      ],
      ago === undefined ? undefined : NOW - ago,
    );
    expect(results).toEqual({ m1: outcome, m2: outcome, m3: 'tenant-not-found' });
    expect(written).toEqual([]);
  });
});
