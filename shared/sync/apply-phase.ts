import pLimit from 'p-limit';
import type { PendingShortening, RunCounters, RunRecord } from '../contracts/run';
import type { StoredPolicy } from '../contracts/stored-policy';
import { countChange } from './assess';
import { BackgroundWrites } from './pages';
import { outOfTime, type ReconcileDeps } from './settings';

/** Pending shortening changes applied per batch (one ledger BatchGetItem, one round of Chime writes). */
const APPLY_BATCH = 50;

/**
 * Applies the run's pending shortening changes (the caps allowed them, or an operator approved them).
 * Returns `checkpoint` when the invocation ran out of time before the last batch: the next step resumes, as
 * applied changes have left the pending list.
 */
export async function applyPending(
  record: RunRecord,
  stored: StoredPolicy,
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<'checkpoint' | 'applied'> {
  const writeLimit = pLimit(deps.settings.writeConcurrency);
  const writes = new BackgroundWrites();
  let batches = 0;
  const applyBatch = async (batch: PendingShortening[]) => {
    const [known] = await Promise.all([
      deps.ledger.getMany(
        record.tenantId,
        batch.map((item) => item.appInstanceUserId),
      ),
      Promise.all(
        batch.map((item) =>
          writeLimit(async () => {
            await deps.users.putExpiration(item.userArn, item.desiredDays);
            counters.chimeCalls++;
            countChange(
              counters,
              { shortens: true, rescue: false, desiredDays: item.desiredDays },
              'released',
            );
          }),
        ),
      ),
    ]);
    const entries = batch.flatMap((item) => {
      const entry = known.get(item.appInstanceUserId);
      return entry
        ? [
            {
              ...entry,
              expirationDays: item.desiredDays,
              appliedPolicyVersion: stored.version,
              appliedRuleId: item.ruleId ?? undefined,
            },
          ]
        : [];
    });
    await writes.add(async () => {
      await deps.ledger.putMany(record.tenantId, entries);
      await deps.runs.removePending(
        record.tenantId,
        batch.map((item) => item.appInstanceUserId),
      );
    });
    batches++;
  };
  let batch: PendingShortening[] = [];
  const stale: string[] = [];
  try {
    for await (const item of deps.runs.pending(record.tenantId)) {
      if (item.runId !== record.runId) {
        // Left by an earlier run that was held or failed: this run decided those users afresh.
        stale.push(item.appInstanceUserId);
        continue;
      }
      batch.push(item);
      if (batch.length >= APPLY_BATCH) {
        await applyBatch(batch);
        batch = [];
        if (outOfTime(deps, batches)) {
          await writes.drain();
          return 'checkpoint';
        }
      }
    }
    if (batch.length > 0) await applyBatch(batch);
    if (stale.length > 0) await writes.add(() => deps.runs.removePending(record.tenantId, stale));
    await writes.drain();
  } finally {
    await writes.settle();
  }
  return 'applied';
}
