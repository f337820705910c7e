import { describe, expect, it } from 'vitest';
import {
  normalizeHorizons,
  parseWithin,
  smallestHorizon,
  tightestHorizon,
  warningsDue,
  withinHorizon,
} from '../../../shared/policy';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

describe('withinHorizon', () => {
  it('is inclusive of the horizon and exclusive of the expiry instant', () => {
    const expiry = T0 + 30 * DAY;
    expect(withinHorizon(expiry, T0, 30)).toBe(true);
    expect(withinHorizon(expiry, T0 - 1, 30)).toBe(false);
    expect(withinHorizon(expiry, expiry - 1, 1)).toBe(true);
    expect(withinHorizon(expiry, expiry, 1)).toBe(false);
  });

  it('counts UTC days of fixed length across a daylight-saving change', () => {
    // 2026-03-29 is the EU's spring-forward day and 2026-03-08 the US one: a local "day" there is 23 hours.
    const now = Date.UTC(2026, 2, 1, 12);
    const expiry = Date.UTC(2026, 3, 1, 12); // 31 UTC days later
    expect(withinHorizon(expiry, now, 31)).toBe(true);
    expect(withinHorizon(expiry, now + 1, 30)).toBe(false);
    expect(withinHorizon(expiry, now + DAY, 30)).toBe(true);
  });
});

describe('warningsDue', () => {
  const horizons = [30, 7, 1];
  const expiry = T0 + 60 * DAY;

  it('sends nothing outside every horizon, and remembers nothing', () => {
    expect(warningsDue(expiry, T0, horizons, undefined)).toEqual({ due: [], sent: null, changed: false });
  });

  it('sends each horizon once as the expiry comes closer, day by day', () => {
    let sent: ReturnType<typeof warningsDue>['sent'] = null;
    const announced: [number, number][] = [];
    for (let day = 0; day <= 60; day++) {
      const step = warningsDue(expiry, T0 + day * DAY, horizons, sent ?? undefined);
      for (const horizon of step.due) announced.push([day, horizon]);
      sent = step.sent;
    }
    expect(announced).toEqual([
      [30, 30],
      [53, 7],
      [59, 1],
    ]);
  });

  it('sends every horizon crossed since the last sync, largest first, each once', () => {
    const first = warningsDue(expiry, T0 + 20 * DAY, horizons, undefined);
    expect(first.due).toEqual([]);
    const late = warningsDue(expiry, T0 + 59.5 * DAY, horizons, undefined);
    expect(late.due).toEqual([30, 7, 1]);
    expect(late.sent).toEqual({ expiresAt: expiry, horizons: [30, 7, 1] });
    const again = warningsDue(expiry, T0 + 59.9 * DAY, horizons, late.sent ?? undefined);
    expect(again).toEqual({ due: [], sent: late.sent, changed: false });
  });

  it('sends only the horizons not yet sent for this expiry instant', () => {
    const step = warningsDue(expiry, T0 + 54 * DAY, horizons, { expiresAt: expiry, horizons: [30] });
    expect(step.due).toEqual([7]);
    expect(step.sent).toEqual({ expiresAt: expiry, horizons: [30, 7] });
  });

  it('re-arms every horizon when the expiry instant moves', () => {
    const renewed = expiry + 40 * DAY;
    const now = T0 + 55 * DAY;
    const previous = { expiresAt: expiry, horizons: [30, 7] };
    // Renewed far enough: nothing due, the old record is dropped so the horizons fire again later.
    expect(warningsDue(renewed, now, horizons, previous)).toEqual({ due: [], sent: null, changed: true });
    // Moved, but still within 30 days: the 30-day warning is sent again, for the new instant.
    const closer = expiry + 10 * DAY;
    const step = warningsDue(closer, now, horizons, previous);
    expect(step.due).toEqual([30]);
    expect(step.sent).toEqual({ expiresAt: closer, horizons: [30] });
  });

  it('forgets what was sent when the user no longer expires', () => {
    expect(warningsDue(null, T0, horizons, { expiresAt: expiry, horizons: [30] })).toEqual({
      due: [],
      sent: null,
      changed: true,
    });
    expect(warningsDue(null, T0, horizons, undefined).changed).toBe(false);
  });

  it('sends nothing for an expiry already past', () => {
    expect(warningsDue(T0, T0 + 1, horizons, undefined).due).toEqual([]);
  });

  it('sends nothing without horizons', () => {
    expect(warningsDue(expiry, expiry - DAY, [], undefined).due).toEqual([]);
  });
});

describe('horizon helpers', () => {
  it('normalizes, finds the smallest and the tightest', () => {
    expect(normalizeHorizons([1, 30, 7, 30])).toEqual([30, 7, 1]);
    expect(smallestHorizon([30, 7, 14])).toBe(7);
    expect(smallestHorizon([])).toBe(0);
    expect(tightestHorizon(T0 + 5 * DAY, T0, [30, 7, 1])).toBe(7);
    expect(tightestHorizon(T0 + 50 * DAY, T0, [30, 7, 1])).toBeNull();
  });

  it.each([
    ['7d', 7 * DAY],
    ['7', 7 * DAY],
    ['36h', 36 * 3_600_000],
    ['90m', 90 * 60_000],
    ['0d', null],
    ['-1d', null],
    ['7w', null],
    ['', null],
  ])('parseWithin(%j) → %j', (text, expected) => {
    expect(parseWithin(text)).toBe(expected);
  });
});
