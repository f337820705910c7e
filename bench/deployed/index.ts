/**
 * Deployed-shape benchmark (issue 9): the functions run the way AWS runs them, through serverless offline
 * (esbuild bundles, one worker per concurrent invocation, each with its own Runtime and limiter) with
 * serverless.yml's maximum concurrency, wired by the local stack: policy put → DynamoDB stream →
 * policy-changed → reconcile queue → reconcile-tenant, and onboarding queue → onboard-users. Concurrent
 * invocations share the Chime quotas through the quota leases in the state table.
 *
 * Every lower bound is computed from the calls the emulator actually answered (throttled attempts
 * excluded) and the quotas of the same run. The coordination cost comes from the `requests` counter that
 * every lease renewal and release increments in the same write (shared/aws/quota-leases.ts). The competitor
 * phase adds a client outside chime-lifecycle that takes half the account quota while our syncs run, and
 * measures how soon our own calls stop being throttled.
 *
 * One module per phase, run in this order when selected (BENCH_DEPLOYED_PHASES): one and five
 * (sync-phases.ts), onboarding and faulty (onboarding-phases.ts), onboarding-fairness (a small tenant's
 * sign-ups beside another's bulk import), idle, fairness, competitor.
 */
import type { EmulatorStats } from '../../emulator';
import type { BenchSection } from '../lib';
import { useDummyCredentials } from '../sync-stack';
import { delta, sum } from './calls';
import { competitorPhase } from './competitor-phase';
import { type DeployedRun, startDeployedRun } from './context';
import { fairnessPhase } from './fairness-phase';
import { idlePhase } from './idle-phase';
import { onboardingFairnessPhase } from './onboarding-fairness-phase';
import { onboardingPhases } from './onboarding-phases';
import { progress, SELECTED } from './settings';
import { fiveTenantsPhase, oneTenantPhase } from './sync-phases';

/** The rows over every phase: the syncs' throttled share and the coordination cost. */
async function overallRows(run: DeployedRun, allBefore: EmulatorStats): Promise<void> {
  const { calls: syncCalls, throttled: syncThrottled } = run.syncCalls;
  const syncShare = syncThrottled / Math.max(1, syncCalls);
  if (syncCalls > 0)
    run.rows.push({
      metric: 'throttled share of Chime calls (syncs, no faults injected)',
      value: 100 * syncShare,
      unit: '%',
      baseline: { label: 'calls', value: syncCalls },
      goal: { op: '<=', value: 1 },
    });

  // Coordination cost: every renewal and release counted in the lease item itself.
  const all = delta(run.stack.emulator.stats(), allBefore);
  // Chime calls of chime-lifecycle only: the competitor's are not ours to coordinate.
  const ourCalls = sum(all.calls) - run.competitorCalls;
  const { requests } = await run.leases.read();
  run.rows.push({
    metric: 'coordination: DynamoDB requests per 1,000 Chime calls',
    value: (1000 * requests) / Math.max(1, ourCalls),
    unit: 'requests',
    baseline: { label: 'lease requests', value: requests },
    goal: { op: '<=', value: 10 },
  });
  run.notes.push(
    `coordination: ${requests} lease requests (renewals + releases) for ${ourCalls} Chime calls of ours (the competitor's ${run.competitorCalls} not counted), counted while the syncs the fairness and competitor phases leave behind may still run`,
  );
}

export async function run(): Promise<BenchSection> {
  useDummyCredentials();
  const deployed = await startDeployedRun();
  const allBefore = deployed.stack.emulator.stats();
  try {
    progress('stack up');
    if (SELECTED.has('one')) await oneTenantPhase(deployed);
    if (SELECTED.has('five')) await fiveTenantsPhase(deployed);
    await onboardingPhases(deployed);
    if (SELECTED.has('onboarding-fairness')) await onboardingFairnessPhase(deployed);
    if (SELECTED.has('idle')) await idlePhase(deployed);
    if (SELECTED.has('fairness')) await fairnessPhase(deployed);
    if (SELECTED.has('competitor')) await competitorPhase(deployed);
    await overallRows(deployed, allBefore);
  } catch (error) {
    progress(`failed; serverless offline's last lines:\n${deployed.serverlessLines.join('\n')}`);
    throw error;
  } finally {
    await deployed.stop();
  }
  return {
    title: 'Deployed shape: serverless offline, coordinated quotas',
    notes: deployed.notes,
    rows: deployed.rows,
  };
}
