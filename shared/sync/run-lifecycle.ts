import { randomBytes } from 'node:crypto';
import type { LifecycleEvent } from '../contracts/lifecycle-events';
import type { ContinueMessage } from '../contracts/reconcile-messages';
import type { RunCounters, RunRecord, RunState } from '../contracts/run';
import type { ReconcileDeps } from './settings';

/** Run ids sort by start time (to the millisecond), so the run records of a tenant list in order. */
export function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** The message that runs a run's next step (its step number guards against duplicate deliveries). */
export function continuation(record: RunRecord): ContinueMessage {
  return {
    kind: 'continue',
    tenantId: record.tenantId,
    runId: record.runId,
    step: record.step,
    ...(record.cursor === undefined ? {} : { cursor: record.cursor }),
    counters: { ...record.counters },
  };
}

/**
 * Saves the run's progress as step+1, conditional on the step it read, and only then sends the continuation:
 * null when another delivery of this step saved first (this one must stop without side effects).
 */
export async function saveCheckpoint(
  record: RunRecord,
  position: { readonly cursor: string | undefined; readonly phase: 'scan' | 'apply' },
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<RunRecord | null> {
  const next: RunRecord = {
    ...record,
    step: record.step + 1,
    phase: position.phase,
    cursor: position.cursor,
    counters,
    updatedAt: new Date(deps.now()).toISOString(),
  };
  if (!(await deps.runs.save(next, record.step))) return null;
  await deps.queue.send([continuation(next)]);
  deps.log.info('run continues in a new invocation', {
    tenantId: record.tenantId,
    runId: record.runId,
    step: next.step,
    counters,
  });
  return next;
}

/**
 * Ends a run: saves its final state (conditional on its step, so only one delivery ends it), releases the
 * lease, publishes the run's event, and starts a follow-up run when the policy moved on during this one.
 */
export async function finishRun(
  record: RunRecord,
  state: Exclude<RunState, 'running'>,
  reason: string | undefined,
  deps: ReconcileDeps,
  options: { readonly releaseLease?: boolean } = {},
): Promise<RunRecord> {
  const now = new Date(deps.now()).toISOString();
  const final: RunRecord = {
    ...record,
    state,
    step: record.step + 1,
    cursor: undefined,
    updatedAt: now,
    finishedAt: now,
    ...(reason === undefined ? {} : { reason }),
  };
  const saved = await deps.runs.save(final, record.step);
  if (!saved) return final;
  if (options.releaseLease ?? true) await deps.runs.releaseLease(record.tenantId, record.runId);
  const detail = {
    tenantId: record.tenantId,
    runId: record.runId,
    policyVersion: record.policyVersion,
    counters: record.counters,
    ...(reason === undefined ? {} : { reason }),
  };
  const event: LifecycleEvent =
    state === 'held'
      ? { type: 'Tenant Run Held', detail: { ...detail, state } }
      : state === 'failed'
        ? { type: 'Tenant Run Failed', detail: { ...detail, state } }
        : { type: 'Tenant Run Completed', detail: { ...detail, state } };
  await deps.events.publish([event]);
  deps.log.info(`run ${state}`, { ...detail, state });
  if (state !== 'failed') {
    // A policy put while this run was going could not start its own run (the lease refused it): run again.
    const latest = await deps.policies.get(record.tenantId);
    if (latest && latest.version > record.policyVersion && latest.policy.enabled) {
      await deps.queue.send([{ kind: 'start', tenantId: record.tenantId, trigger: 'follow-up' }]);
    }
  }
  return final;
}
