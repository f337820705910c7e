import type { ReconcileMessage } from './messages';
import type { ReconcileQueuePort, RunRecord } from './ports';
import { type ReconcileDeps, type ReconcileOutcome, reconcileTenant } from './reconcile-tenant';

export interface PullModeResult {
  readonly tenantId: string;
  /** The final run record, or null when the run was skipped. */
  readonly run: RunRecord | null;
  readonly skipped?: string;
  /** Invocations this run took (continuations included). */
  readonly invocations: number;
}

/**
 * Runs the sync in this process ("pull mode", for operators and tests): the same use case as the Lambda,
 * with continuation messages kept in memory instead of on the reconcile queue.
 */
export async function syncInProcess(
  tenantIds: readonly string[],
  makeDeps: (queue: ReconcileQueuePort) => ReconcileDeps,
  options: { readonly approveShortening?: boolean } = {},
): Promise<PullModeResult[]> {
  const results: PullModeResult[] = [];
  for (const tenantId of tenantIds) {
    const pending: ReconcileMessage[] = [];
    const deps = makeDeps({ send: async (messages) => void pending.push(...messages) });
    let outcome: ReconcileOutcome = await reconcileTenant(
      {
        kind: 'start',
        tenantId,
        trigger: 'cli',
        ...(options.approveShortening ? { approveShortening: true } : {}),
      },
      deps,
    );
    let invocations = 1;
    let last: RunRecord | null = outcome.status === 'skipped' ? null : outcome.run;
    for (let next = pending.shift(); next; next = pending.shift()) {
      // A follow-up start (the policy changed during the run) is left to the next sync: pull mode reports
      // the run it was asked for.
      if (next.kind !== 'continue') continue;
      outcome = await reconcileTenant(next, deps);
      invocations++;
      if (outcome.status !== 'skipped') last = outcome.run;
    }
    results.push({
      tenantId,
      run: last,
      invocations,
      ...(outcome.status === 'skipped' && last === null ? { skipped: outcome.reason } : {}),
    });
  }
  return results;
}
