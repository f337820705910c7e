/**
 * Phase "competitor": a client outside chime-lifecycle takes half the account quota while our syncs want
 * more than the rest; measured is how soon our own calls stop being throttled.
 */
import { performance } from 'node:perf_hooks';
import type { EmulatorStats } from '../../emulator';
import { DEFAULT_CHIME_QUOTAS } from '../../shared/chime/quotas';
import type { BenchRow } from '../lib';
import { delta, describeCalls, sum } from './calls';
import { type Ceilings, measured as ceilingOf } from './ceilings';
import { type CompetitorCounts, startCompetitor } from './competitor-client';
import { type DeployedRun, seedTenant, startSync, type Tenant } from './context';
import {
  COMPETED_TENANTS,
  COMPETED_USERS,
  COMPETITOR_LEAD_SECONDS,
  COMPETITOR_OPERATION,
  COMPETITOR_SECONDS,
  COMPETITOR_SETTLE_SECONDS,
  progress,
  sleep,
  TIMELINE,
} from './settings';

interface Sample {
  readonly at: number;
  readonly stats: EmulatorStats;
}

/** Our calls between two readings (the competitor's operation taken out), and the competitor's apart. */
function ours(after: EmulatorStats, before: EmulatorStats) {
  const calls = delta(after, before);
  const competitor = {
    calls: calls.calls[COMPETITOR_OPERATION] ?? 0,
    throttled: calls.throttled[COMPETITOR_OPERATION] ?? 0,
  };
  for (const counts of [calls.calls, calls.throttled, calls.ok]) delete counts[COMPETITOR_OPERATION];
  return { ...calls, competitor };
}
type OurCalls = ReturnType<typeof ours>;

const share = (calls: OurCalls) => (100 * sum(calls.throttled)) / Math.max(1, sum(calls.calls));

interface Rates {
  readonly account: number;
  readonly competitor: number;
  /** Our syncs' accepted calls/s in the ceiling run: what this machine carries of our work. */
  readonly ceiling: number;
}

interface Competition {
  /** When the policy puts started our syncs. */
  readonly since: number;
  readonly leadStart: Sample;
  /** The competitor's arrival. */
  readonly start: Sample;
  /** COMPETITOR_SETTLE_SECONDS after its arrival. */
  readonly settled: Sample;
  readonly end: Sample;
  /** A sample every second from its arrival to the end. */
  readonly perSecond: Sample[];
  readonly own: CompetitorCounts;
  readonly finishedBefore: number;
}

/**
 * Our syncs first, alone at the whole account quota; the competitor arrives once they run near it (2 s at
 * >= 80% of it), or after COMPETITOR_LEAD_SECONDS at most.
 */
async function leadAlone(run: DeployedRun, leadStart: Sample, accountRate: number): Promise<Sample> {
  const snapshot = (): Sample => ({ at: performance.now(), stats: run.stack.emulator.stats() });
  const recent: Sample[] = [leadStart];
  while (performance.now() - leadStart.at < COMPETITOR_LEAD_SECONDS * 1000) {
    await sleep(500);
    recent.push(snapshot());
    const from = recent.find((sample) => sample.at >= performance.now() - 2_000) as Sample;
    const last = recent[recent.length - 1] as Sample;
    const window = (last.at - from.at) / 1000;
    if (window >= 1.5 && sum(ours(last.stats, from.stats).ok) / window >= 0.8 * accountRate) break;
  }
  return snapshot();
}

async function compete(
  run: DeployedRun,
  tenants: readonly Tenant[],
  competitorArns: readonly string[],
  rates: Rates,
): Promise<Competition> {
  const { emulator } = run.stack;
  const snapshot = (): Sample => ({ at: performance.now(), stats: emulator.stats() });
  let competitor: ReturnType<typeof startCompetitor> | undefined;
  let timeline: NodeJS.Timeout | undefined;
  try {
    const since = await startSync(run, tenants);
    const leadStart = snapshot();
    const start = await leadAlone(run, leadStart, rates.account);
    competitor = startCompetitor({
      endpoint: emulator.url,
      region: run.stack.config.region,
      appInstanceArns: competitorArns,
      ratePerSecond: rates.competitor,
      maxInFlight: 64,
    });
    const perSecond: Sample[] = [start];
    timeline = setInterval(() => perSecond.push(snapshot()), 1_000);
    await sleep(Math.max(0, start.at + COMPETITOR_SETTLE_SECONDS * 1000 - performance.now()));
    const settled = snapshot();
    await sleep(Math.max(0, start.at + COMPETITOR_SECONDS * 1000 - performance.now()));
    const end = snapshot();
    const endedAt = Date.now();
    clearInterval(timeline);
    perSecond.push(end);
    const own = await competitor.stop();
    competitor = undefined;
    const finishedBefore = (
      await Promise.all(
        tenants.map(async (tenant) => (await run.stack.runtime.runs.recent(tenant.tenantId, 1))[0]),
      )
    ).filter(
      (latest) =>
        latest &&
        Date.parse(latest.startedAt) >= since - 1_000 &&
        latest.finishedAt &&
        Date.parse(latest.finishedAt) <= endedAt,
    ).length;
    return { since, leadStart, start, settled, end, perSecond, own, finishedBefore };
  } finally {
    clearInterval(timeline);
    await competitor?.stop();
  }
}

/**
 * Seconds in which our throttled share was over the goal's 1%, before and after the first 30 s: how the
 * throttles are spread (a burst or blips), which the shares of the two windows do not tell.
 */
function secondsOverGoal(perSecond: readonly Sample[]) {
  let overFirst = 0;
  let overLater = 0;
  const seconds: string[] = [];
  for (let index = 1; index < perSecond.length; index++) {
    const calls = ours((perSecond[index] as Sample).stats, (perSecond[index - 1] as Sample).stats);
    if (share(calls) > 1) {
      if (index <= COMPETITOR_SETTLE_SECONDS) overFirst += 1;
      else overLater += 1;
    }
    seconds.push(
      `${sum(calls.ok)}/${sum(calls.throttled)}/${calls.competitor.calls - calls.competitor.throttled}/${calls.competitor.throttled}`,
    );
  }
  return { overFirst, overLater, seconds };
}

function report(run: DeployedRun, measured: Competition, competitorArns: number, rates: Rates): void {
  const { leadStart, start, settled, end, own } = measured;
  const alone = ours(start.stats, leadStart.stats);
  const aloneRate = sum(alone.ok) / ((start.at - leadStart.at) / 1000);
  const first = ours(settled.stats, start.stats);
  const later = ours(end.stats, settled.stats);
  const whole = ours(end.stats, start.stats);
  const competitorCalls = run.competitorCalls;
  const laterSeconds = (end.at - settled.at) / 1000;
  const competitorAccepted = (later.competitor.calls - later.competitor.throttled) / laterSeconds;
  const oursAccepted = sum(later.ok) / laterSeconds;
  const leftOver = rates.account - competitorAccepted;
  // Without contention the throttled-share row proves nothing: this says whether the account was full.
  const accountUsed = (oursAccepted + competitorAccepted) / rates.account;
  const { overFirst, overLater, seconds } = secondsOverGoal(measured.perSecond);
  if (TIMELINE)
    progress(`competitor per second (ours ok/throttled, competitor ok/throttled): ${seconds.join(' ')}`);
  run.notes.push(
    `competitor: our ${COMPETED_TENANTS} tenants of ${COMPETED_USERS} users start syncing alone, and the competitor arrives once they use most of the account quota (${aloneRate.toFixed(0)} calls/s of ${rates.account}/s accepted over the ${((start.at - leadStart.at) / 1000).toFixed(1)} s before it); then a client outside chime-lifecycle (the bench's own ChimeSDKIdentityClient, one attempt per call, at most 64 in flight, slots more than 100 ms late skipped) arrives and calls ${COMPETITOR_OPERATION} on ${competitorArns} AppInstances of its own at ${rates.competitor}/s (half the account quota) for ${COMPETITOR_SECONDS} s; it sent ${own.sent} calls in ${own.seconds.toFixed(1)} s (${(own.sent / own.seconds).toFixed(0)}/s; ${own.skipped} slots skipped), ${own.accepted} accepted, ${own.throttled} throttled, ${own.failed} other errors (the emulator counted ${competitorCalls} ${COMPETITOR_OPERATION} calls). Our calls are the emulator's counts minus ${COMPETITOR_OPERATION} (chime-lifecycle never calls it): ${describeCalls(whole.ok)} accepted, ${sum(whole.throttled)} throttled while the competitor ran. Ceiling of our syncs (the ceiling run): ${rates.ceiling.toFixed(0)} calls/s. From ${COMPETITOR_SETTLE_SECONDS} s after its arrival on (${laterSeconds.toFixed(1)} s): the competitor got ${competitorAccepted.toFixed(0)} calls/s through, leaving ${leftOver.toFixed(0)}/s; we got ${oursAccepted.toFixed(0)}/s through, ${sum(later.throttled)} of ${sum(later.calls)} calls throttled; together ${(100 * accountUsed).toFixed(0)}% of the account quota${accountUsed < 0.9 ? ' (the account was not full: something else held our functions back, e.g. a busy machine, so the throttled share proves little)' : ''}. Our throttled share in the first ${COMPETITOR_SETTLE_SECONDS} s after its arrival: ${share(first).toFixed(2)}% (${sum(first.throttled)} of ${sum(first.calls)}); seconds with our throttled share over 1%: ${overFirst} in the first ${COMPETITOR_SETTLE_SECONDS} s, ${overLater} after; runs finished before the competitor stopped: ${measured.finishedBefore} of ${COMPETED_TENANTS} (the rest continue until the stack stops)`,
  );
  run.rows.push(
    ...competitionRows(first, later, { oursAccepted, leftOver, accountUsed, competitorAccepted }, rates),
  );
}

function competitionRows(
  first: OurCalls,
  later: OurCalls,
  figures: { oursAccepted: number; leftOver: number; accountUsed: number; competitorAccepted: number },
  rates: Rates,
): BenchRow[] {
  // Judged where what the competitor leaves us is at most half what the machine carries of our syncs: only
  // then do our syncs press on the quota (a machine-bound run is never throttled, so it would prove nothing).
  const bounds = {
    kind: 'rate' as const,
    quota: rates.account - rates.competitor,
    ceiling: rates.ceiling,
    unit: 'calls/s',
  };
  return [
    {
      metric: `competitor takes half the account quota: our throttled share from ${COMPETITOR_SETTLE_SECONDS} s after it arrives`,
      value: share(later),
      unit: '%',
      bounds,
      goal: { op: '<=', value: 1 },
    },
    {
      metric: `competitor takes half the account quota: our throttled share in its first ${COMPETITOR_SETTLE_SECONDS} s`,
      value: share(first),
      unit: '%',
      baseline: { label: 'our calls', value: sum(first.calls) },
    },
    {
      metric: `competitor takes half the account quota: our accepted calls/s from ${COMPETITOR_SETTLE_SECONDS} s on ÷ what it left`,
      value: figures.oursAccepted / figures.leftOver,
      unit: '',
      baseline: { label: 'left calls/s', value: figures.leftOver },
    },
    {
      metric: `competitor phase: account quota used from ${COMPETITOR_SETTLE_SECONDS} s on (ours + competitor's accepted ÷ quota)`,
      value: figures.accountUsed,
      unit: '',
      baseline: { label: 'account calls/s', value: rates.account },
    },
    {
      metric: `competitor's accepted calls/s from ${COMPETITOR_SETTLE_SECONDS} s on`,
      value: figures.competitorAccepted,
      unit: 'calls/s',
      baseline: { label: 'half the account quota', value: rates.competitor },
    },
  ];
}

export async function competitorPhase(run: DeployedRun, ceilings: Ceilings): Promise<void> {
  progress('competitor');
  const { emulator } = run.stack;
  const account = DEFAULT_CHIME_QUOTAS.account * run.quotaScale;
  const rates: Rates = { account, competitor: account / 2, ceiling: ceilingOf(ceilings, 'competitor') };
  // Enough AppInstances of its own that each stays well under its DescribeAppInstance quota: only the
  // account quota, the one it shares with us, can throttle it.
  const perAppInstanceRate = DEFAULT_CHIME_QUOTAS['describe-app-instance'] * run.quotaScale;
  const competitorArns = Array.from(
    { length: Math.ceil(rates.competitor / (0.75 * perAppInstanceRate)) },
    (_, index) => emulator.seed({ appInstanceName: `rival${index}-${run.runId}`, users: [] }).appInstanceArn,
  );
  const tenants = Array.from({ length: COMPETED_TENANTS }, (_, index) =>
    seedTenant(run, `cm${index}-${run.runId}`, COMPETED_USERS),
  );
  const beforeCompetitor = emulator.stats();
  const measured = await compete(run, tenants, competitorArns, rates);
  run.competitorCalls =
    (emulator.stats().calls[COMPETITOR_OPERATION] ?? 0) - (beforeCompetitor.calls[COMPETITOR_OPERATION] ?? 0);
  report(run, measured, competitorArns.length, rates);
}
