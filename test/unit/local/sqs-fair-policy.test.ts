import { describe, expect, it } from 'vitest';
import {
  deliveryOrder,
  FAIR_QUEUE_THRESHOLDS,
  isNoisyNow,
  ProcessingTime,
  staysNoisy,
  type TenantLoad,
} from '../../../local/sqs-fair-policy';

/** The fair-queue rules AWS documents, on plain numbers (local/sqs-fair-policy.ts). */

const tenant = (load: Partial<TenantLoad>): TenantLoad => ({
  inFlight: 0,
  backlog: 1,
  processingMs: 0,
  lastSentAt: 0,
  ...load,
});

describe('isNoisyNow: AWS thresholds', () => {
  it.each([
    // in flight (own / queue), processing ms (own / queue), noisy
    ['30 of 100 in flight (30%, at least 30)', 30, 100, 0, 0, true],
    ['29 of 100 in flight: fewer than 30', 29, 100, 0, 0, false],
    ['30 of 300 in flight: exactly 10%, not more', 30, 300, 0, 0, false],
    ['31 of 300 in flight: just over 10%', 31, 300, 0, 0, true],
    ['a processing share just over 10%', 0, 0, 101, 1_000, true],
    ['a processing share of exactly 10%', 0, 0, 100, 1_000, false],
    ['no processing at all in the queue', 0, 0, 0, 0, false],
    ['few in flight but most of the processing time', 5, 100, 900, 1_000, true],
  ])('%s', (_case, inFlight, queueInFlight, processingMs, queueProcessingMs, noisy) => {
    expect(
      isNoisyNow(tenant({ inFlight, processingMs }), {
        inFlight: queueInFlight,
        processingMs: queueProcessingMs,
      }),
    ).toBe(noisy);
  });

  it('uses the documented thresholds', () => {
    expect(FAIR_QUEUE_THRESHOLDS).toMatchObject({
      inFlightShare: 0.1,
      minInFlight: 30,
      processingShare: 0.1,
      quietAfterMs: 300_000,
    });
  });
});

describe('staysNoisy: until the backlog drains or 5 minutes without a send', () => {
  const quietQueue = { inFlight: 100, processingMs: 10_000 };
  const minutes = (count: number) => count * 60_000;
  it.each([
    ['noisy before, backlog left, sent 4 minutes ago', true, 5, minutes(4), true],
    ['noisy before, backlog left, sent 5 minutes ago', true, 5, minutes(5), false],
    ['noisy before, backlog drained', true, 0, 0, false],
    ['never noisy, quiet now', false, 5, 0, false],
  ])('%s', (_case, wasNoisy, backlog, sinceSend, noisy) => {
    const now = 10 * 60_000;
    expect(staysNoisy(wasNoisy, tenant({ backlog, lastSentAt: now - sinceSend }), quietQueue, now)).toBe(
      noisy,
    );
  });

  it('a tenant noisy by the measures now is noisy whatever its past', () => {
    expect(
      staysNoisy(false, tenant({ inFlight: 40, backlog: 1 }), { inFlight: 40, processingMs: 0 }, 0),
    ).toBe(true);
  });

  it('a tenant with nothing waiting is never noisy: there is nothing of it to put back', () => {
    expect(staysNoisy(true, tenant({ inFlight: 40, backlog: 0 }), { inFlight: 40, processingMs: 0 }, 0)).toBe(
      false,
    );
  });
});

describe('deliveryOrder', () => {
  const inFlight = (counts: Record<string, number>) => (name: string) => counts[name] ?? 0;
  it.each([
    [
      'quiet first, in queue order, then the noisy one',
      ['A', 'A', 'B', 'A', 'C'],
      4,
      ['A'],
      {},
      [2, 4, 0, 1],
    ],
    ['nothing noisy: queue order', ['A', 'B', 'A'], 3, [], {}, [0, 1, 2]],
    ['only noisy messages: queue order of the one tenant', ['A', 'A', 'A'], 2, ['A'], { A: 40 }, [0, 1]],
    [
      'several noisy: fewest in flight first, evening out as it takes',
      ['A', 'A', 'A', 'B', 'B', 'B'],
      4,
      ['A', 'B'],
      { A: 31, B: 30 },
      [3, 0, 4, 1],
    ],
    ['fewer messages than room', ['A', 'B'], 10, ['A'], {}, [1, 0]],
  ])('%s', (_case, tenants, count, noisy, counts, picks) => {
    expect(deliveryOrder(tenants, count, new Set(noisy), inFlight(counts))).toEqual(picks);
  });
});

describe('ProcessingTime', () => {
  it('counts periods in the second they end, for the window, and forgets them after it', () => {
    const time = new ProcessingTime(3_000);
    time.add('A', 10_500, 2_000);
    time.add('A', 11_200, 500);
    time.add('B', 11_900, 100);
    expect(time.within('A', 12_000)).toBe(2_500);
    expect(time.within('B', 12_000)).toBe(100);
    // Second 10 leaves the 3 s window at second 13.
    expect(time.within('A', 13_000)).toBe(500);
    expect(time.within('A', 14_000)).toBe(0);
    time.forget('A', 14_000);
    expect([...time.tenants()]).toEqual(['B']);
  });

  it('caps one period at the window', () => {
    const time = new ProcessingTime(2_000);
    time.add('A', 100_000, 60_000);
    expect(time.within('A', 100_000)).toBe(2_000);
  });
});
