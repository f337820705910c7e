import type { StoredPolicy } from '../contracts/stored-policy';
import type { ReconcileQueuePort } from './ports';

export interface ScheduleDeps {
  readonly policies: { list(): Promise<StoredPolicy[]> };
  readonly runs: { activeLease(tenantId: string, now: number): Promise<string | null> };
  readonly queue: ReconcileQueuePort;
  readonly now: () => number;
}

export interface ScheduleResult {
  readonly queued: readonly string[];
  readonly skipped: readonly { readonly tenantId: string; readonly reason: string }[];
}

/**
 * The scheduled trigger: one reconcile start message per enabled tenant, sent in batches. A tenant whose
 * previous run still holds its lease is skipped here (and would be refused by the lease anyway), so runs
 * never overlap and a slow tenant does not pile up start messages.
 */
export async function scheduleSync(deps: ScheduleDeps): Promise<ScheduleResult> {
  const now = deps.now();
  const queued: string[] = [];
  const skipped: { tenantId: string; reason: string }[] = [];
  for (const stored of await deps.policies.list()) {
    if (!stored.policy.enabled) {
      skipped.push({ tenantId: stored.tenantId, reason: 'policy disabled' });
      continue;
    }
    const holder = await deps.runs.activeLease(stored.tenantId, now);
    if (holder) {
      skipped.push({ tenantId: stored.tenantId, reason: `run ${holder} is still going` });
      continue;
    }
    queued.push(stored.tenantId);
  }
  if (queued.length > 0) {
    await deps.queue.send(queued.map((tenantId) => ({ kind: 'start', tenantId, trigger: 'schedule' })));
  }
  return { queued, skipped };
}
