/**
 * The ceilings of the deployed bench (issue 24). Before the measured phases the same work runs, in the same
 * run and on the same machine, on a stack whose emulator and functions enforce the quotas at CEILING_SCALE (far
 * above what two cores carry) while its wiring follows the measured scale (onboard-users' batch size and
 * window are the same): what this machine's stack carries for that work. Every ratio is then computed against
 * min(quota bound, ceiling), and a row whose quota is over half its ceiling reads "machine-bound".
 */
import { sum } from './calls';
import { type DeployedRun, startDeployedRun } from './context';
import { smallRound } from './fairness-phase';
import { FAULTS, onboardingPass, warmUp } from './onboarding-phases';
import { CEILING_SCALE, COMPETED_TENANTS, type Phase, progress, SYNC_USERS } from './settings';
import { firstSyncs } from './sync-phases';

export interface Ceilings {
  /** One tenant's first sync, seconds from the policy put to the run's end. */
  readonly one?: number;
  /** Five tenants' first syncs at once, seconds to the last run's end. */
  readonly five?: number;
  /** The onboarding pass's creates/s, clean and with the faults injected. */
  readonly onboarding?: number;
  readonly faulty?: number;
  /** One tenant's import alone, creates/s. */
  readonly import?: number;
  /** The 20 small tenants' syncs alone, seconds to the last one's end. */
  readonly fairness?: number;
  /** Our tenants' first syncs at once (the competitor phase's work), accepted calls/s. */
  readonly competitor?: number;
}

export type CeilingName = keyof Ceilings;

/** The ceiling a phase needs; measured before it by construction, so its absence is a bench bug. */
export function measured(ceilings: Ceilings, name: CeilingName): number {
  const value = ceilings[name];
  if (value === undefined) throw new Error(`deployed bench: the ${name} ceiling was not measured`);
  return value;
}

/**
 * The import of the onboarding-fairness phase in the ceiling run: enough for a rate past the first batches,
 * about 10 s of what two cores carry at each wiring (batches of 10 at ×1 run slower than batches of 200).
 */
const importCeilingRequests = (wiringScale: number) => Math.max(1_000, Math.round(250 * wiringScale));

type Found = { -readonly [name in CeilingName]?: number };

async function syncCeilings(run: DeployedRun, phases: ReadonlySet<Phase>, found: Found, said: string[]) {
  if (phases.has('one')) {
    found.one = (await firstSyncs(run, 'c1-', 1, SYNC_USERS)).seconds;
    said.push(`one tenant's first sync ${found.one.toFixed(1)} s`);
  }
  if (phases.has('five')) {
    found.five = (await firstSyncs(run, 'c5-', 5, SYNC_USERS)).seconds;
    said.push(`five tenants' first syncs ${found.five.toFixed(1)} s`);
  }
  if (phases.has('fairness')) {
    const alone = await smallRound(run, 'csa');
    found.fairness = Math.max(...alone.times);
    said.push(`the 20 small tenants alone ${found.fairness.toFixed(1)} s`);
  }
  if (phases.has('competitor')) {
    // A rate, so smaller syncs than the phase's own do (they must finish: later ceilings share the machine).
    const syncs = await firstSyncs(run, 'ccm', COMPETED_TENANTS, SYNC_USERS);
    found.competitor = sum(syncs.calls.ok) / syncs.seconds;
    said.push(
      `${COMPETED_TENANTS} tenants' first syncs of ${SYNC_USERS} users at once ${found.competitor.toFixed(0)} calls/s`,
    );
  }
}

/** Returns the calls throttled during the faulty pass (the injected 429s among them), not counted as the quota's. */
async function onboardingCeilings(
  run: DeployedRun,
  phases: ReadonlySet<Phase>,
  found: Found,
  said: string[],
): Promise<number> {
  let faultyThrottled = 0;
  // Warmed as the measured stacks are: above ×1 (at ×1 they are not, and a cold ceiling errs low, toward
  // reporting the machine as the bound).
  if (run.quotaScale > 1) {
    const warm = await warmUp(run);
    said.push(`onboarding warm-up ${warm.rate.toFixed(0)} creates/s (not used)`);
  }
  if (phases.has('onboarding')) {
    found.onboarding = (await onboardingPass(run, 'con')).rate;
    said.push(`onboarding pass ${found.onboarding.toFixed(0)} creates/s`);
  }
  if (phases.has('faulty')) {
    run.stack.emulator.setFaults(FAULTS);
    const pass = await onboardingPass(run, 'cof');
    run.stack.emulator.setFaults({});
    found.faulty = pass.rate;
    faultyThrottled = sum(pass.calls.throttled);
    said.push(`faulty onboarding pass ${found.faulty.toFixed(0)} creates/s`);
  }
  if (phases.has('onboarding-fairness')) {
    const requests = importCeilingRequests(run.quotaScale);
    found.import = (await onboardingPass(run, 'cim', requests, 1)).rate;
    said.push(`one tenant's import of ${requests} alone ${found.import.toFixed(0)} creates/s`);
  }
  return faultyThrottled;
}

/**
 * Runs the ceiling of each of `phases` on a stack of its own (wiring at `wiringScale`, quotas at
 * CEILING_SCALE), notes what it found, and stops that stack before the measured phases start.
 */
export async function measureCeilings(
  wiringScale: number,
  phases: ReadonlySet<Phase>,
  notes: string[],
): Promise<Ceilings> {
  progress(`ceiling run: wiring ×${wiringScale}, quotas lifted to ×${CEILING_SCALE}`);
  const run = await startDeployedRun({ quotaScale: wiringScale, enforcedQuotaScale: CEILING_SCALE });
  const found: Found = {};
  const said: string[] = [];
  const before = run.stack.emulator.stats();
  let throttled = 0;
  try {
    await syncCeilings(run, phases, found, said);
    let faultyThrottled = 0;
    if (['onboarding', 'faulty', 'onboarding-fairness'].some((phase) => phases.has(phase as Phase)))
      faultyThrottled = await onboardingCeilings(run, phases, found, said);
    // Outside the faulty pass (whose injected 429s count as throttles) a quota throttle would say the
    // quotas were not lifted enough: it should be none.
    throttled = sum(run.stack.emulator.stats().throttled) - sum(before.throttled) - faultyThrottled;
  } finally {
    await run.stop();
  }
  notes.push(
    `ceiling run for the wiring of ×${wiringScale} (the same work on the same machine, quotas lifted to ×${CEILING_SCALE}; ${throttled} calls throttled outside the faulty pass): ${said.join('; ')}`,
  );
  return found;
}
