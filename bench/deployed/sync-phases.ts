/** Phases "one" and "five": first syncs of one tenant alone and of five at once, against their quota bound. */
import { delta, describeCalls, lowerBound } from './calls';
import { countSync, type DeployedRun, holdersBetween, runsFinished, seedTenant, startSync } from './context';
import { progress, SYNC_USERS } from './settings';

export async function oneTenantPhase(run: DeployedRun): Promise<void> {
  progress('one tenant');
  const { emulator } = run.stack;
  const tenant = seedTenant(run, `one-${run.runId}`, SYNC_USERS);
  const before = emulator.stats();
  const since = await startSync(run, [tenant]);
  const { finished, started } = await runsFinished(run, [tenant.tenantId], since, 600_000);
  const finishedAt = finished.get(tenant.tenantId) as number;
  const seconds = (finishedAt - since) / 1000;
  const calls = delta(emulator.stats(), before);
  const bound = lowerBound(calls.ok, 1);
  countSync(run, calls);
  run.notes.push(
    `one tenant of ${SYNC_USERS} users (a third without expiration, a third drifted, a third compliant): ${describeCalls(calls.ok)}; policy put to run finished ${seconds.toFixed(1)} s (of which stream → policy-changed → queue → reconcile-tenant start ${(((started.get(tenant.tenantId) as number) - since) / 1000).toFixed(1)} s); lower bound ${bound.seconds.toFixed(1)} s (${bound.by}); ${holdersBetween(run, since, finishedAt)}`,
  );
  run.rows.push({
    metric: "one tenant's first sync ÷ its quota lower bound",
    value: seconds / bound.seconds,
    unit: '×',
    baseline: { label: 'lower bound s', value: bound.seconds },
    goal: { op: '<=', value: 1.2 },
  });
}

export async function fiveTenantsPhase(run: DeployedRun): Promise<void> {
  progress('five tenants');
  const { emulator } = run.stack;
  const tenants = Array.from({ length: 5 }, (_, index) =>
    seedTenant(run, `five${index}-${run.runId}`, SYNC_USERS),
  );
  const before = emulator.stats();
  const since = await startSync(run, tenants);
  const { finished, started } = await runsFinished(
    run,
    tenants.map((tenant) => tenant.tenantId),
    since,
    900_000,
  );
  const lastFinished = Math.max(...finished.values());
  const seconds = (lastFinished - since) / 1000;
  const calls = delta(emulator.stats(), before);
  const bound = lowerBound(calls.ok, tenants.length);
  countSync(run, calls);
  run.notes.push(
    `five tenants of ${SYNC_USERS} users at once: ${describeCalls(calls.ok)}; last run finished ${seconds.toFixed(1)} s after the policy puts (runs started ${[...started.values()].map((at) => ((at - since) / 1000).toFixed(1)).join(', ')} s after); lower bound ${bound.seconds.toFixed(1)} s (${bound.by}); ${holdersBetween(run, since, lastFinished)}`,
  );
  run.rows.push({
    metric: "five tenants' first syncs at once ÷ the account bound",
    value: seconds / bound.seconds,
    unit: '×',
    baseline: { label: 'lower bound s', value: bound.seconds },
    goal: { op: '<=', value: 1.15 },
  });
}
