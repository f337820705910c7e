/** One sync scenario: a first and a steady-state sync of some tenants through one Runtime, then the naive pass. */
import { performance } from 'node:perf_hooks';
import type { RateLimiterStats } from '../../shared/chime/rate-limiter';
import type { Runtime } from '../../shared/composition-root';
import type { Config } from '../../shared/config';
import { type PullModeResult, syncInProcess } from '../../shared/sync/pull-mode';
import { type BenchRow, type BenchSection, effectiveBound } from '../lib';
import { benchRuntime, newTimings, type SyncTimings, syncDeps } from '../sync-stack';
import { CallDelta, emulatorStats, sum, type Tenant } from './emulator-calls';
import { naivePass } from './naive';
import { perTenantCalls, quotaBound } from './quota-bound';
import { QUOTA_SCALE, RATES } from './settings';

interface SyncMeasurement {
  readonly seconds: number;
  readonly results: PullModeResult[];
  readonly delta: CallDelta;
  readonly timings: SyncTimings[];
}

/** Syncs the tenants concurrently, one syncInProcess each, through one Runtime (so one shared limiter). */
export async function measureSync(
  runtime: Runtime,
  url: string,
  tenants: readonly Tenant[],
): Promise<SyncMeasurement> {
  const before = await emulatorStats(url);
  const timings = tenants.map(() => newTimings());
  const started = performance.now();
  const results = (
    await Promise.all(
      tenants.map(async (tenant, index) => {
        const tenantTimings = timings[index] as SyncTimings;
        const result = await syncInProcess([tenant.id], (queue) => syncDeps(runtime, queue, tenantTimings));
        tenantTimings.finishedAt = performance.now();
        return result;
      }),
    )
  ).flat();
  const seconds = (performance.now() - started) / 1000;
  const delta = new CallDelta(before, await emulatorStats(url));
  for (const result of results) {
    if (result.run?.state !== 'completed') {
      throw new Error(
        `sync of ${result.tenantId} ended ${result.run?.state ?? result.skipped}: ${result.run?.reason ?? ''}`,
      );
    }
  }
  return { seconds, results, delta, timings };
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Where the first sync's time went, per tenant: the scan, end of scan, and the apply phase. */
function phaseNotes(measurement: SyncMeasurement, scale: number): string[] {
  return measurement.results.map((result, index) => {
    const timing = measurement.timings[index] as SyncTimings;
    const counters = result.run?.counters;
    const scanEnd = timing.scanEndedAt ?? timing.finishedAt ?? timing.startedAt;
    const applyStart = timing.applyStartedAt ?? timing.finishedAt ?? scanEnd;
    const finished = timing.finishedAt ?? applyStart;
    const describes = counters?.described ?? 0;
    const applied = counters?.shorteningApplied ?? 0;
    const scanWrites = (counters?.set ?? 0) + (counters?.removed ?? 0) - applied;
    return (
      `${result.tenantId}: scan ${fmtS(scanEnd - timing.startedAt)} (${counters?.pages} pages, ${describes} describes ≥ ${(describes / (RATES.describes * scale)).toFixed(1)} s, ` +
      `${scanWrites} writes ≥ ${(scanWrites / (RATES.writes * scale)).toFixed(1)} s; awaiting list pages ${fmtS(timing.listMs)}, ` +
      `DynamoDB ${fmtS(timing.scanDynamoMs)}), end of scan ${fmtS(applyStart - scanEnd)}, ` +
      `apply ${fmtS(finished - applyStart)} (${applied} shortening writes ≥ ${(applied / (RATES.writes * scale)).toFixed(1)} s; DynamoDB ${fmtS(timing.applyDynamoMs)})`
    );
  });
}

function limiterNote(stats: RateLimiterStats): string {
  const buckets = stats.buckets.map((bucket) => {
    const name = bucket.key.replace(/:arn:aws:chime:[^/]+\/([0-9a-f]{8})[0-9a-f-]*$/, ' $1');
    const rate =
      bucket.effectiveRate < bucket.configuredRate
        ? `, rate now ${bucket.effectiveRate.toFixed(0)}/${bucket.configuredRate}`
        : '';
    return `${name} ${bucket.acquired} tokens, ${bucket.throttles} throttled${rate}`;
  });
  return `limiter after the first sync: ${stats.waited} of ${stats.acquired} acquisitions waited; ${buckets.join('; ')}`;
}

export async function syncScenario(
  title: string,
  url: string,
  config: Config,
  dynamodb: string,
  tenants: readonly Tenant[],
  users: number,
  /** The same first sync's seconds with the quotas lifted (ceiling.ts), measured in the same run. */
  ceilingSeconds: number,
): Promise<BenchSection> {
  const runtime = benchRuntime(config, { dynamodb, chime: url });
  try {
    const first = await measureSync(runtime, url, tenants);
    const limiter = runtime.chimeLimiter.stats();
    const steady = await measureSync(runtime, url, tenants);
    const naiveBefore = await emulatorStats(url);
    const naive = await naivePass(url, config, tenants);
    const naiveDelta = new CallDelta(naiveBefore, await emulatorStats(url));

    const totalUsers = users * tenants.length;
    const perTenant = perTenantCalls(first.results);
    const admitted = sum(Object.keys(first.delta.calls).map((operation) => first.delta.admitted(operation)));
    const bound = quotaBound(perTenant, admitted, QUOTA_SCALE);
    const counted = sum(perTenant.map((tenant) => tenant.chimeCalls));
    const bounds = { kind: 'seconds' as const, quota: bound.seconds, ceiling: ceilingSeconds, unit: 's' };
    const syncCalls = first.delta.total + steady.delta.total;
    const syncThrottled = first.delta.totalThrottled + steady.delta.totalThrottled;
    const naiveThrottledPercent =
      naiveDelta.total === 0 ? 0 : (100 * naiveDelta.totalThrottled) / naiveDelta.total;

    const notes = [
      `quota scale ${QUOTA_SCALE} (BENCH_QUOTA_SCALE) for the emulator and the Runtime alike: per AppInstance ${RATES.writes * QUOTA_SCALE} writes/s, ${RATES.describes * QUOTA_SCALE} describes/s, ${RATES.lists * QUOTA_SCALE} lists/s; account ${RATES.account * QUOTA_SCALE} calls/s`,
      `${tenants.length} × ${users.toLocaleString('en-US')} users, synced ${tenants.length > 1 ? 'concurrently (one syncInProcess per tenant, one shared Runtime and limiter)' : 'in pull mode'}; calls and throttles from the emulator's /_emulator/stats`,
      `first sync: ${first.delta.describe()}`,
      `steady-state sync: ${steady.delta.describe()} in ${steady.seconds.toFixed(2)} s`,
      `quota lower bound of the first sync: ${bound.seconds.toFixed(1)} s, bound by ${bound.binding}; ceiling (the same first sync with the quotas lifted, CEILING_QUOTA_SCALE): ${ceilingSeconds.toFixed(1)} s` +
        (counted === admitted
          ? ''
          : ` (run counters say ${counted} calls, the emulator admitted ${admitted})`),
      ...phaseNotes(first, QUOTA_SCALE),
      limiterNote(limiter),
      `naive pass: ${naiveDelta.describe()}; ${naive.failedFirstRound} users still failed after the SDK's retries in the first round, ${naive.rounds} round(s) until every user was done${naive.unfinished > 0 ? `, ${naive.unfinished} never done` : ''}`,
    ];
    const rows: BenchRow[] = [
      {
        metric: 'Chime calls per user, first sync',
        value: first.delta.total / totalUsers,
        unit: 'calls/user',
        baseline: { label: 'naive pass', value: naiveDelta.total / totalUsers },
      },
      {
        metric: 'Chime calls per user, steady-state sync',
        value: steady.delta.total / totalUsers,
        unit: 'calls/user',
        baseline: { label: 'naive pass', value: naiveDelta.total / totalUsers },
        goal: { op: '<=', value: 0.021 },
      },
      {
        metric: 'first-sync wall time',
        value: first.seconds,
        unit: 's',
        baseline: { label: 'quota lower bound', value: bound.seconds },
      },
      {
        metric: 'first-sync wall time ÷ max(quota lower bound, ceiling)',
        value: first.seconds / effectiveBound(bounds),
        unit: '×',
        bounds,
        goal: { op: '<=', value: 1.15 },
      },
      {
        metric: 'throttled share of calls (first + steady-state sync)',
        value: syncCalls === 0 ? 0 : (100 * syncThrottled) / syncCalls,
        unit: '%',
        baseline: { label: 'naive pass', value: naiveThrottledPercent },
        goal: { op: '<=', value: 1 },
      },
      {
        metric: 'steady-state sync wall time',
        value: steady.seconds,
        unit: 's',
        baseline: { label: 'naive pass', value: naive.seconds },
      },
      {
        metric: 'steady-state speed-up over the naive pass (naive ÷ ours)',
        value: naive.seconds / steady.seconds,
        unit: '×',
        goal: { op: '>=', value: 10 },
      },
    ];
    return { title, notes, rows };
  } finally {
    runtime.destroy();
  }
}
