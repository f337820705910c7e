import type { z } from 'zod';
import { integerIn, strictObject } from '../../fields';
import { DAY_MS, MAX_EXPIRATION_DAYS, MIN_EXPIRATION_DAYS } from '../../limits';
import { defineExpiration, objectWith, plural } from '../expiration';

/**
 * Renewal of active users (`{"inactiveDays": N}`): pure arithmetic, no clock. Chime expires a user only by
 * CREATED_TIMESTAMP, so "N days after the last activity" is expressed as ExpirationDays counted from
 * creation, and kept there by rewriting it as the user stays active. Rewriting every day would cost one Chime
 * write per active user per day; the hysteresis below rewrites only once the expiry is less than N/2 days
 * away, so a user active every day costs one write per N/2 days (60/N a month) and never comes closer than
 * N/2 days to expiring.
 */

/**
 * The ExpirationDays that put the expiry at `lastActiveAt + inactiveDays` (rounded up to a whole day from
 * creation, so a user never expires before its N days are up), within Chime's 1..5475 days from creation.
 * A user with no recorded activity counts from its creation; activity before creation (clock skew) too.
 */
export function renewalDays(
  createdAt: number,
  lastActiveAt: number | undefined,
  inactiveDays: number,
): number {
  const from = Math.max(createdAt, lastActiveAt ?? createdAt);
  const days = Math.ceil((from + inactiveDays * DAY_MS - createdAt) / DAY_MS);
  return Math.min(MAX_EXPIRATION_DAYS, Math.max(MIN_EXPIRATION_DAYS, days));
}

/**
 * Whether the reconciler should write a renewal now: when the user has no expiry, when the expiry is later
 * than the policy allows (N was lowered, or the user was given a longer one), or when the expiry is less
 * than N/2 days away. Otherwise the write waits, however much later the ideal expiry has moved.
 */
export function renewalDue(
  currentExpiresAt: number | null,
  targetExpiresAt: number,
  now: number,
  inactiveDays: number,
): boolean {
  if (currentExpiresAt === null) return true;
  if (currentExpiresAt > targetExpiresAt) return true;
  return currentExpiresAt - now < (inactiveDays * DAY_MS) / 2;
}

/** Chime writes per user per 30 days that the hysteresis allows for a user active every day. */
export function renewalWritesPerMonthBound(inactiveDays: number): number {
  return 60 / inactiveDays;
}

const schema = strictObject(
  { inactiveDays: integerIn(MIN_EXPIRATION_DAYS, MAX_EXPIRATION_DAYS) },
  `an object like {"inactiveDays": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}`,
);

export type InactiveExpiration = z.output<typeof schema>;

export const inactiveDays = defineExpiration({
  name: 'inactiveDays',
  schema,
  written: `{"inactiveDays": ${MIN_EXPIRATION_DAYS}..${MAX_EXPIRATION_DAYS}}`,
  // An exemption pins an expiration for a while: renewal by activity is a rule's business.
  inExemptions: false,
  needsCreatedTimestamp: true,
  needsActivity: true,
  is: (expiration) => objectWith(expiration, 'inactiveDays'),
  target(expiration, { createdAt, currentExpiresAt, lastActiveAt, now }) {
    const days = renewalDays(createdAt, lastActiveAt, expiration.inactiveDays);
    const due = renewalDue(currentExpiresAt, createdAt + days * DAY_MS, now, expiration.inactiveDays);
    return {
      intent: 'days',
      days,
      text: `${plural(expiration.inactiveDays, 'day')} after the last activity`,
      wait: due ? null : 'renewal not due yet',
    };
  },
  summary: (expiration) => `${expiration.inactiveDays} d after last activity`,
});
