import { describe, expect, it, vi } from 'vitest';
import { allOrNothing, coalesce, coalescedEvents, coalescedLedger } from '../../../shared/aws/coalesce';
import type { LedgerEntry } from '../../../shared/contracts/ledger';
import type { LifecycleEvent } from '../../../shared/contracts/lifecycle-events';

const entry = (appInstanceUserId: string, expirationDays: number | null = 7): LedgerEntry => ({
  appInstanceUserId,
  createdAt: 0,
  expirationDays,
  verifiedAt: 0,
  appliedPolicyVersion: 1,
});

describe('coalesce', () => {
  it('carries concurrent calls in one flush and resolves each when its flush succeeded', async () => {
    const flushes: number[][] = [];
    const add = coalesce<number>(
      async (items) => {
        flushes.push([...items]);
        return items.map(() => undefined);
      },
      { maxItems: 100, quietMs: 1 },
    );
    await Promise.all([1, 2, 3, 4, 5].map((item) => add(item)));
    expect(flushes).toEqual([[1, 2, 3, 4, 5]]);
  });

  it('splits at maxItems', async () => {
    const sizes: number[] = [];
    const add = coalesce<number>(
      async (items) => {
        sizes.push(items.length);
        return items.map(() => undefined);
      },
      { maxItems: 10, quietMs: 1 },
    );
    await Promise.all(Array.from({ length: 25 }, (_, index) => add(index)));
    expect(sizes).toEqual([10, 10, 5]);
  });

  it('waits for a quiet period: items that keep arriving go out together', async () => {
    vi.useFakeTimers();
    try {
      const flushes: number[][] = [];
      const add = coalesce<number>(
        async (items) => {
          flushes.push([...items]);
          return items.map(() => undefined);
        },
        { maxItems: 100, quietMs: 10, maxWaitMs: 1_000 },
      );
      const done: Promise<void>[] = [];
      for (let item = 0; item < 20; item++) {
        done.push(add(item));
        await vi.advanceTimersByTimeAsync(5);
      }
      expect(flushes).toEqual([]);
      await vi.advanceTimersByTimeAsync(10);
      await Promise.all(done);
      expect(flushes).toEqual([Array.from({ length: 20 }, (_, item) => item)]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds no item longer than maxWaitMs, however steadily others arrive', async () => {
    vi.useFakeTimers();
    try {
      const flushedAt: { at: number; size: number }[] = [];
      const add = coalesce<number>(
        async (items) => {
          flushedAt.push({ at: Date.now(), size: items.length });
          return items.map(() => undefined);
        },
        { maxItems: 100, quietMs: 10, maxWaitMs: 30 },
      );
      const started = Date.now();
      const done: Promise<void>[] = [];
      for (let item = 0; item < 20; item++) {
        done.push(add(item));
        await vi.advanceTimersByTimeAsync(5);
      }
      await vi.advanceTimersByTimeAsync(30);
      await Promise.all(done);
      expect(flushedAt.reduce((total, flush) => total + flush.size, 0)).toBe(20);
      expect(flushedAt.length).toBeGreaterThanOrEqual(3);
      // Every flush within maxWaitMs of the first item it carried.
      let first = started;
      for (const flush of flushedAt) {
        expect(flush.at - first).toBeLessThanOrEqual(30);
        first = flush.at;
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it("fails only the caller whose item failed, with that item's error", async () => {
    const add = coalesce<number>(
      async (items) => items.map((item) => (item % 2 === 0 ? new Error(`even ${item}`) : undefined)),
      { maxItems: 10, quietMs: 1 },
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((item) => add(item)));
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
    ]);
    expect((results[3] as PromiseRejectedResult).reason.message).toBe('even 4');
  });

  it('fails every caller of a flush that throws or answers the wrong number of results', async () => {
    const thrown = coalesce<number>(
      async () => {
        throw new Error('network down');
      },
      { maxItems: 10, quietMs: 1 },
    );
    await expect(Promise.all([thrown(1), thrown(2)])).rejects.toThrow('network down');
    const short = coalesce<number>(async () => [undefined], { maxItems: 10, quietMs: 1 });
    const results = await Promise.allSettled([short(1), short(2)]);
    expect(results.every((result) => result.status === 'rejected')).toBe(true);
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/answered 1 results for 2 items/);
  });

  it('refuses options that cannot batch', () => {
    expect(() => coalesce(async () => [], { maxItems: 0 })).toThrow(/maxItems/);
    expect(() => coalesce(async () => [], { maxItems: 5, quietMs: -1 })).toThrow(/quietMs/);
    expect(() => coalesce(async () => [], { maxItems: 5, quietMs: 20, maxWaitMs: 10 })).toThrow(/maxWaitMs/);
  });

  it('allOrNothing gives every item the one answer', async () => {
    expect(await allOrNothing([1, 2], async () => undefined)).toEqual([undefined, undefined]);
    const failed = await allOrNothing([1, 2], async () => {
      throw new Error('no');
    });
    expect(failed.map((result) => result?.message)).toEqual(['no', 'no']);
  });
});

describe('coalescedLedger', () => {
  it("writes concurrent callers' entries per tenant in one call, the last entry of a user winning", async () => {
    const calls: { tenantId: string; users: string[]; days: (number | null)[] }[] = [];
    const ledger = coalescedLedger(
      {
        putMany: async (tenantId, entries) => {
          calls.push({
            tenantId,
            users: entries.map((written) => written.appInstanceUserId),
            days: entries.map((written) => written.expirationDays),
          });
        },
      },
      { quietMs: 1 },
    );
    await Promise.all([
      ledger.putMany('a', [entry('u1')]),
      ledger.putMany('b', [entry('u2')]),
      ledger.putMany('a', [entry('u3'), entry('u1', 30)]),
    ]);
    expect(calls.sort((x, y) => x.tenantId.localeCompare(y.tenantId))).toEqual([
      { tenantId: 'a', users: ['u1', 'u3'], days: [30, 7] },
      { tenantId: 'b', users: ['u2'], days: [7] },
    ]);
  });

  it('fails only the callers of the tenant whose write failed', async () => {
    const ledger = coalescedLedger(
      {
        putMany: async (tenantId) => {
          if (tenantId === 'b') throw new Error('table gone');
        },
      },
      { quietMs: 1 },
    );
    const results = await Promise.allSettled([
      ledger.putMany('a', [entry('u1')]),
      ledger.putMany('b', [entry('u2')]),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
  });
});

describe('coalescedEvents', () => {
  it('publishes concurrent events in requests of at most 10', async () => {
    const sizes: number[] = [];
    const events = coalescedEvents(
      {
        publish: async (batch) => {
          sizes.push(batch.length);
        },
      },
      { quietMs: 1 },
    );
    const event = { type: 'Tenant Run Completed', detail: {} } as unknown as LifecycleEvent;
    await Promise.all(Array.from({ length: 23 }, () => events.publish([event])));
    expect(sizes).toEqual([10, 10, 3]);
  });
});
