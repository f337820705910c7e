/**
 * Phases "one" and "five": first syncs of one tenant alone and of five at once, against min(quota bound,
 * ceiling): the quota's lower bound of the calls made, and the same syncs' time in the ceiling run (quotas
 * lifted, same machine, same run).
 */
import { effectiveBound } from '../lib';
import { type CallCounts, delta, describeCalls, lowerBound } from './calls';
import { type Ceilings, measured as ceilingOf } from './ceilings';
import { countSync, type DeployedRun, holdersBetween, runsFinished, seedTenant, startSync } from './context';
import { progress, SYNC_USERS } from './settings';

export interface MeasuredSyncs {
  /** From the policy puts to the last run's end. */
  readonly seconds: number;
  readonly calls: CallCounts;
  /** Seconds from the policy puts to each run's start (the trigger path). */
  readonly startedAfter: readonly number[];
  readonly since: number;
  readonly lastFinished: number;
}

/** `count` tenants of `users` users each, their first syncs started at once and waited for. */
export async function firstSyncs(
  run: DeployedRun,
  label: string,
  count: number,
  users: number,
): Promise<MeasuredSyncs> {
  const tenants = Array.from({ length: count }, (_, index) =>
    seedTenant(run, `${label}${index}-${run.runId}`, users),
  );
  const before = run.stack.emulator.stats();
  const since = await startSync(run, tenants);
  const { finished, started } = await runsFinished(
    run,
    tenants.map((tenant) => tenant.tenantId),
    since,
    900_000,
  );
  const lastFinished = Math.max(...finished.values());
  return {
    seconds: (lastFinished - since) / 1000,
    calls: delta(run.stack.emulator.stats(), before),
    startedAfter: [...started.values()].map((at) => (at - since) / 1000),
    since,
    lastFinished,
  };
}

async function syncPhase(run: DeployedRun, count: number, ceiling: number): Promise<void> {
  const measured = await firstSyncs(run, count === 1 ? 'one' : 'five', count, SYNC_USERS);
  const bound = lowerBound(measured.calls.ok, count, run.quotaScale);
  countSync(run, measured.calls);
  const what =
    count === 1
      ? `one tenant of ${SYNC_USERS} users (a third without expiration, a third drifted, a third compliant)`
      : `${count} tenants of ${SYNC_USERS} users at once`;
  run.notes.push(
    `${what}: ${describeCalls(measured.calls.ok)}; policy put to last run finished ${measured.seconds.toFixed(1)} s (runs started ${measured.startedAfter.map((at) => at.toFixed(1)).join(', ')} s after: stream → policy-changed → queue → reconcile-tenant); quota lower bound ${bound.seconds.toFixed(1)} s (${bound.by}); ceiling (the same syncs with the quotas lifted) ${ceiling.toFixed(1)} s; ${holdersBetween(run, measured.since, measured.lastFinished)}`,
  );
  const bounds = { kind: 'seconds' as const, quota: bound.seconds, ceiling, unit: 's' };
  run.rows.push({
    metric:
      count === 1
        ? "one tenant's first sync ÷ max(quota lower bound, ceiling)"
        : `${count} tenants' first syncs at once ÷ max(quota lower bound, ceiling)`,
    value: measured.seconds / effectiveBound(bounds),
    unit: '×',
    bounds,
    goal: { op: '<=', value: count === 1 ? 1.2 : 1.15 },
  });
}

export async function oneTenantPhase(run: DeployedRun, ceilings: Ceilings): Promise<void> {
  progress('one tenant');
  await syncPhase(run, 1, ceilingOf(ceilings, 'one'));
}

export async function fiveTenantsPhase(run: DeployedRun, ceilings: Ceilings): Promise<void> {
  progress('five tenants');
  await syncPhase(run, 5, ceilingOf(ceilings, 'five'));
}
