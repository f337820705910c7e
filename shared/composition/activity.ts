import { type ActivityBatchRecorder, activityRecorder } from '../activity/batch';
import type { ActivityStore } from '../aws/activity';
import type { Ledger } from '../aws/ledger';
import type { PolicyStore } from '../aws/policy-store';

/**
 * The activity wiring of the composition root (`Runtime.activityRecorder`), kept beside it so that
 * composition-root.ts stays a readable list of what the process builds. The checks and the coalescing are
 * the activity use case's (shared/activity/batch.ts).
 */

export type { ActivityRecordOutcome } from '../activity/batch';
export type ActivityRecorder = ActivityBatchRecorder;

export function wireActivity(runtime: {
  readonly activity: ActivityStore;
  readonly policyStore: PolicyStore;
  readonly ledger: Ledger;
}): ActivityRecorder {
  return activityRecorder({
    store: runtime.activity,
    policies: runtime.policyStore,
    ledger: runtime.ledger,
    now: Date.now,
  });
}
