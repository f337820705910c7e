import { describe, expect, it } from 'vitest';
import {
  ActivityAdmission,
  ActivityRefusedError,
  MAX_ACTIVITY_LEAD_MS,
  refusalsOf,
} from '../../../shared/activity/admission';
import { activityBatch, UNKNOWN_USER_RETRY_SECONDS } from '../../../shared/activity/batch';
import { isRetryable } from '../../../shared/errors';
import type { ActivityEvent } from '../../../shared/sync/ports';
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

describe('activity batch (the queue consumer’s use case)', () => {
  function batch(records: { messageId: string; event: ActivityEvent }[], attempt = 1) {
    const written: ActivityEvent[] = [];
    const outcomes: string[] = [];
    const handle = activityBatch(records, {
      ...ports(),
      store: {
        record: async (recorded) => {
          written.push(recorded);
          return 'advanced';
        },
      },
      observe: (outcome) => outcomes.push(outcome),
    });
    const run = async () => {
      const results: Record<string, string> = {};
      for (const record of records) {
        try {
          const handled = await handle(record.event, { ...record, attempt });
          results[record.messageId] = handled ? `retry in ${handled.retryAfterSeconds} s` : 'ok';
        } catch (error) {
          results[record.messageId] = (error as { reason?: string }).reason ?? String(error);
        }
      }
      return results;
    };
    return { run, written, outcomes };
  }

  it('refuses the future event and still records the valid one it would have settled', async () => {
    const { run, written, outcomes } = batch([
      { messageId: 'valid', event: event({ at: NOW - 1_000 }) },
      { messageId: 'future', event: event({ at: Date.UTC(2100, 0, 1) }) },
    ]);
    expect(await run()).toEqual({ valid: 'ok', future: 'activity-in-future' });
    expect(written).toEqual([event({ at: NOW - 1_000 })]);
    expect(outcomes).toEqual(['advanced']);
  });

  it('gives every event of a user the ledger does not know one more delivery, then refuses them all', async () => {
    const records = [
      { messageId: 'm1', event: event({ appInstanceUserId: 'b-1', at: NOW - 2_000 }) },
      { messageId: 'm2', event: event({ appInstanceUserId: 'b-1', at: NOW - 1_000 }) },
      { messageId: 'm3', event: event({ tenantId: 'nobody' }) },
    ];
    const first = batch(records);
    expect(await first.run()).toEqual({
      m1: `retry in ${UNKNOWN_USER_RETRY_SECONDS} s`,
      m2: `retry in ${UNKNOWN_USER_RETRY_SECONDS} s`,
      m3: 'tenant-not-found',
    });
    const second = batch(records, 2);
    expect(await second.run()).toEqual({
      m1: 'user-not-in-tenant',
      m2: 'user-not-in-tenant',
      m3: 'tenant-not-found',
    });
    expect([...first.written, ...second.written]).toEqual([]);
  });
});
