/**
 * Phase "fairness": 20 small tenants alone, then the same beside one big tenant, compared by finishing rank.
 * Judged only where the small tenants' quota bound is at least twice their time in the ceiling run: nearer,
 * the machine, not the quota, decides who waits.
 */
import { type CallCounts, delta, lowerBound } from './calls';
import { type Ceilings, measured } from './ceilings';
import { countSync, type DeployedRun, runsFinished, seedTenant, startSync } from './context';
import { BIG_USERS, progress, SMALL_TENANTS, SMALL_USERS, sleep } from './settings';

/** SMALL_TENANTS tenants of SMALL_USERS users synced together: each one's time from the policy puts. */
export async function smallRound(
  run: DeployedRun,
  label: string,
): Promise<{ times: number[]; calls: CallCounts }> {
  const tenants = Array.from({ length: SMALL_TENANTS }, (_, index) =>
    seedTenant(run, `${label}${String(index).padStart(2, '0')}-${run.runId}`, SMALL_USERS),
  );
  const before = run.stack.emulator.stats();
  const since = await startSync(run, tenants);
  const { finished } = await runsFinished(
    run,
    tenants.map((tenant) => tenant.tenantId),
    since,
    600_000,
  );
  const calls = delta(run.stack.emulator.stats(), before);
  return { times: [...finished.values()].map((at) => (at - since) / 1000), calls };
}

export async function fairnessPhase(run: DeployedRun, ceilings: Ceilings): Promise<void> {
  progress('fairness');
  const { emulator } = run.stack;
  const alone = await smallRound(run, 'sa');
  countSync(run, alone.calls);
  const big = seedTenant(run, `big-${run.runId}`, BIG_USERS);
  const bigBefore = emulator.stats();
  await startSync(run, [big]);
  // Let the big tenant take its share first, as it would have when the small ones arrive.
  await sleep(3_000);
  const beside = await smallRound(run, 'sb');
  // The big tenant's calls so far (and the second round's) count in the throttled share; it is not waited
  // for (minutes of work that prove nothing more), the stack stops with it.
  countSync(run, delta(emulator.stats(), bigBefore));
  const sortedAlone = [...alone.times].sort((a, b) => a - b);
  const sortedBeside = [...beside.times].sort((a, b) => a - b);
  // Tenants are compared by finishing rank: the k-th to finish beside the big one against the k-th alone.
  const worst = Math.max(
    ...sortedBeside.map((time, index) => time / Math.max(0.001, sortedAlone[index] as number)),
  );
  const quota = lowerBound(alone.calls.ok, SMALL_TENANTS, run.quotaScale);
  const ceiling = measured(ceilings, 'fairness');
  run.notes.push(
    `fairness: ${SMALL_TENANTS} tenants of ${SMALL_USERS} users started together, alone: all done in ${Math.max(...alone.times).toFixed(1)} s (quota lower bound ${quota.seconds.toFixed(1)} s, ${quota.by}; ceiling, the same with the quotas lifted: ${ceiling.toFixed(1)} s); beside a ${BIG_USERS}-user tenant (started 3 s before): all done in ${Math.max(...beside.times).toFixed(1)} s; compared by finishing rank`,
  );
  run.rows.push({
    metric: 'fairness: worst small tenant time beside the big one ÷ its time alone',
    value: worst,
    unit: '×',
    bounds: { kind: 'seconds', quota: quota.seconds, ceiling, unit: 's' },
    goal: { op: '<=', value: 2 },
  });
}
