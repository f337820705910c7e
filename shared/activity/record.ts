import pLimit from 'p-limit';
import type { ActivityEvent } from '../contracts/activity';
import { coalesceActivity } from './message';

export interface ActivityRecorder {
  record(event: ActivityEvent): Promise<'advanced' | 'stale'>;
}

export interface ActivityTally {
  /** Events given. */
  readonly events: number;
  /** Conditional updates made (one per user after coalescing): the DynamoDB writes. */
  readonly updates: number;
  /** Updates that moved `lastActiveAt` forward. */
  readonly advanced: number;
  /** Updates refused because a later activity was already recorded. */
  readonly stale: number;
}

/** Records a batch of activity: coalesced per user, then one conditional update each, `concurrency` at a time. */
export async function recordActivity(
  events: readonly ActivityEvent[],
  store: ActivityRecorder,
  concurrency = 16,
): Promise<ActivityTally> {
  const latest = coalesceActivity(events);
  const limit = pLimit(concurrency);
  const outcomes = await Promise.all(latest.map((event) => limit(() => store.record(event))));
  const advanced = outcomes.filter((outcome) => outcome === 'advanced').length;
  return { events: events.length, updates: latest.length, advanced, stale: latest.length - advanced };
}

/**
 * Coalescing for a queue batch whose records are handled one by one (the queue driver's contract): each
 * record learns whether it carries its user's latest activity of the batch. Only that one is written; the
 * others are settled by it (and if its write fails, it is retried and still covers them).
 */
export function batchWinners(
  records: readonly { readonly messageId: string; readonly event: ActivityEvent | null }[],
): Set<string> {
  const best = new Map<string, { messageId: string; at: number }>();
  for (const { messageId, event } of records) {
    if (event === null) continue;
    const key = `${event.tenantId}\u0000${event.appInstanceUserId}`;
    const seen = best.get(key);
    if (seen === undefined || event.at > seen.at) best.set(key, { messageId, at: event.at });
  }
  return new Set([...best.values()].map((winner) => winner.messageId));
}
