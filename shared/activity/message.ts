import { z } from 'zod';
import type { ActivityEvent } from '../contracts/activity';
import { IDENTIFIER_MESSAGE, TENANT_ID_PATTERN } from '../policy';

/** Chime's AppInstanceUserId: 1..64 characters (the API model's UserId shape, without control characters). */
const USER_ID = /^[^\p{Cc}]{1,64}$/u;

/**
 * One activity of a user, as applications send it to the activity queue or write it to a JSONL file:
 * `{ "tenantId": "acme", "appInstanceUserId": "u-1", "at": "2026-12-01T10:00:00Z" }`. `at` may also be
 * epoch milliseconds. No name or metadata: the user id is all renewal needs.
 */
export const activityMessageSchema = z
  .strictObject({
    tenantId: z.string().regex(TENANT_ID_PATTERN, { error: IDENTIFIER_MESSAGE }),
    appInstanceUserId: z
      .string()
      .regex(USER_ID, { error: 'must be 1..64 characters without control characters' }),
    at: z.union([
      z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant or epoch milliseconds' }),
      z.number().int().min(0).max(8_640_000_000_000_000),
    ]),
  })
  .transform(
    (message): ActivityEvent => ({
      tenantId: message.tenantId,
      appInstanceUserId: message.appInstanceUserId,
      at: typeof message.at === 'number' ? message.at : Date.parse(message.at),
    }),
  );

export type ActivityMessage = z.input<typeof activityMessageSchema>;

/** The key that coalesces events of one user. */
export const activityKey = (event: Pick<ActivityEvent, 'tenantId' | 'appInstanceUserId'>): string =>
  `${event.tenantId}\u0000${event.appInstanceUserId}`;

/**
 * Coalesces a batch: one event per user, the latest. The others could only be refused by the store's
 * forward-only condition, so they are not written at all.
 */
export function coalesceActivity(events: Iterable<ActivityEvent>): ActivityEvent[] {
  const latest = new Map<string, ActivityEvent>();
  for (const event of events) {
    const key = activityKey(event);
    const seen = latest.get(key);
    if (seen === undefined || event.at > seen.at) latest.set(key, event);
  }
  return [...latest.values()];
}
