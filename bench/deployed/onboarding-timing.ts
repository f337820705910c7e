/**
 * Onboarding requests timed one by one, for the latency bench and the onboarding-fairness phase: each
 * request's key (`tenant/user`), when its send began and when its `User Onboarded` event arrived, and how
 * many events each key had (more than one would be a user announced twice).
 */
import { performance } from 'node:perf_hooks';
import type { OutgoingMessage } from '../../shared/aws/queues';
import type { DeployedRun } from './context';
import { sleep } from './settings';

export interface TimedRequest {
  readonly key: string;
  readonly message: OutgoingMessage;
}

/** `count` requests for new users `<prefix>-<n>` of one tenant, the tenant as message group. */
export function tenantRequests(tenantId: string, prefix: string, count: number): TimedRequest[] {
  return Array.from({ length: count }, (_, index) => {
    const request = { tenantId, appInstanceUserId: `${prefix}-${index}`, name: `Person ${index}` };
    return {
      key: `${tenantId}/${request.appInstanceUserId}`,
      message: { body: JSON.stringify(request), groupId: tenantId },
    };
  });
}

/**
 * Sends the requests all at once in SendMessageBatch requests of 10 (100 per call of sendBatch); returns when
 * each key's send began (performance.now()).
 */
export async function sendTimed(
  run: DeployedRun,
  queueUrl: string,
  requests: readonly TimedRequest[],
): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  const chunks: TimedRequest[][] = [];
  for (let index = 0; index < requests.length; index += 100) chunks.push(requests.slice(index, index + 100));
  await Promise.all(
    chunks.map(async (chunk) => {
      const at = performance.now();
      for (const { key } of chunk) sentAt.set(key, at);
      await run.stack.runtime.queues.sendBatch(
        queueUrl,
        chunk.map(({ message }) => message),
      );
    }),
  );
  return sentAt;
}

export interface Onboarded {
  /** The first User Onboarded event of each key that had one (performance.now()). */
  readonly at: Map<string, number>;
  /** Keys with more than one event. */
  readonly announcedTwice: number;
}

/** Waits until every key had its User Onboarded event, or `timeoutMs`; then counts the events of each. */
export async function onboardedTimes(
  run: DeployedRun,
  keys: readonly string[],
  timeoutMs: number,
): Promise<Onboarded> {
  const wanted = new Set(keys);
  const at = new Map<string, number>();
  let scanned = 0;
  const deadline = Date.now() + timeoutMs;
  while (at.size < wanted.size && Date.now() < deadline) {
    for (; scanned < run.onboarded.length; scanned++) {
      const event = run.onboarded[scanned] as (typeof run.onboarded)[number];
      if (wanted.has(event.key) && !at.has(event.key)) at.set(event.key, event.at);
    }
    if (at.size < wanted.size) await sleep(100);
  }
  return { at, announcedTwice: announcedTwice(run, wanted) };
}

/** Keys of `wanted` with more than one User Onboarded event so far. */
export function announcedTwice(run: DeployedRun, wanted: ReadonlySet<string>): number {
  const counts = new Map<string, number>();
  for (const event of run.onboarded) {
    if (wanted.has(event.key)) counts.set(event.key, (counts.get(event.key) ?? 0) + 1);
  }
  return [...counts.values()].filter((count) => count > 1).length;
}

/** The q-quantile (0..1) of the values, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export interface TrialSummary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median (the mean of the middle two for an even count), least and greatest of repeated trials' times. */
export function summarizeTrials(values: readonly number[]): TrialSummary {
  if (values.length === 0) throw new RangeError('summarizeTrials: no trials');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}
