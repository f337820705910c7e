import type { ReconcileQueuePort } from './ports';

/** The part of a DynamoDB stream record of the policy table this use case reads (already unmarshalled). */
export interface PolicyChange {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly tenantId: string;
  readonly oldVersion?: number | undefined;
  readonly newVersion?: number | undefined;
  readonly enabled?: boolean | undefined;
}

/**
 * A policy put reconciles that tenant at once: one start message per tenant whose policy got a new version
 * and is enabled. Several puts in one stream batch start one run; a run already going picks the change up
 * when it finishes (it starts a follow-up run when the version moved on).
 */
export async function onPolicyChanged(
  changes: readonly PolicyChange[],
  queue: ReconcileQueuePort,
): Promise<{ readonly queued: readonly string[] }> {
  const tenants = new Set<string>();
  for (const change of changes) {
    if (change.eventName === 'REMOVE') continue;
    if (!change.enabled) continue;
    if (
      change.newVersion !== undefined &&
      change.oldVersion !== undefined &&
      change.newVersion <= change.oldVersion
    ) {
      continue;
    }
    tenants.add(change.tenantId);
  }
  const queued = [...tenants];
  if (queued.length > 0) {
    await queue.send(queued.map((tenantId) => ({ kind: 'start', tenantId, trigger: 'policy-changed' })));
  }
  return { queued };
}
