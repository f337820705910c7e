import type { ReconcileMessage } from '../contracts/reconcile-messages';
import type { RunRecord } from '../contracts/run';
import type { ReconcileQueuePort } from './ports';
import { reconcileStep, retriesExhausted, type StepResult } from './reconcile-step';
import type { ReconcileDeps } from './settings';

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
    const step = async (message: ReconcileMessage): Promise<StepResult> => {
      const result = await reconcileStep(message, deps);
      if (result.kind !== 'retryAfter') return result;
      // In this process every attempt is the last: what retries running out means happens now.
      const run = await retriesExhausted(message, result.error, deps);
      if (!run) throw result.error;
      return { kind: 'done', run };
    };
    let result = await step({
      kind: 'start',
      tenantId,
      trigger: 'cli',
      ...(options.approveShortening ? { approveShortening: true } : {}),
    });
    let invocations = 1;
    let last = runOf(result);
    for (let next = pending.shift(); next; next = pending.shift()) {
      // A follow-up start (the policy changed during the run) is left to the next sync: pull mode reports
      // the run it was asked for.
      if (next.kind !== 'continue') continue;
      result = await step(next);
      invocations++;
      last = runOf(result) ?? last;
    }
    const skipped = result.kind === 'done' && last === null ? result.skipped : undefined;
    results.push({ tenantId, run: last, invocations, ...(skipped === undefined ? {} : { skipped }) });
  }
  return results;
}

function runOf(result: StepResult): RunRecord | null {
  return result.kind === 'retryAfter' ? null : result.run;
}
