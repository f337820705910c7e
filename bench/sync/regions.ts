/**
 * Two tenants in two Regions syncing at once (issue 20): one AppInstance in us-east-1, one in eu-central-1,
 * synced concurrently through one Runtime (one limiter, one process, as a CLI sync or a reconcile container
 * holding both would). Chime counts its quotas per account and Region, so each tenant may use its Region's
 * whole quota: each first sync is judged against its own Region's quota bound, not against a share of one.
 *
 * It runs against its own emulator child at BENCH_REGIONS_QUOTA_SCALE with BENCH_REGIONS_USERS per tenant
 * (settings.ts): low enough that the machine (DynamoDB Local above all, on the same cores) is not what binds,
 * which the same two syncs with the quotas lifted, first, show (the ceiling, issue 24).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ensureTables } from '../../shared/aws/tables';
import type { Config } from '../../shared/config';
import { type PullModeResult, syncInProcess } from '../../shared/sync/pull-mode';
import { type BenchRow, type BenchSection, effectiveBound } from '../lib';
import { benchConfig, benchRuntime, newTimings, putPolicy, type SyncTimings, syncDeps } from '../sync-stack';
import { type Child, startEmulator, stopChild } from './children';
import { CallDelta, emulatorStats, seedTenant, sum } from './emulator-calls';
import { perTenantCalls, quotaBound } from './quota-bound';
import { CEILING_QUOTA_SCALE, REGIONS_QUOTA_SCALE, REGIONS_USERS as USERS } from './settings';

const REGIONS = ['us-east-1', 'eu-central-1'] as const;

interface RegionTenant {
  readonly id: string;
  readonly arn: string;
  readonly region: string;
}

async function syncBoth(
  config: Config,
  endpoints: { dynamodb: string; chime: string },
  tenants: readonly RegionTenant[],
): Promise<{
  results: PullModeResult[];
  phases: string[];
  seconds: number[];
  throttled: number;
  calls: number;
  limiter: string;
}> {
  const runtime = benchRuntime(config, endpoints);
  try {
    const before = await emulatorStats(endpoints.chime);
    const timings = tenants.map(() => newTimings());
    const results = (
      await Promise.all(
        tenants.map(async (tenant, index) => {
          const timing = timings[index] as SyncTimings;
          const result = await syncInProcess([tenant.id], (queue) => syncDeps(runtime, queue, timing));
          timing.finishedAt = performance.now();
          return result;
        }),
      )
    ).flat();
    const delta = new CallDelta(before, await emulatorStats(endpoints.chime));
    for (const result of results) {
      if (result.run?.state !== 'completed') {
        throw new Error(`sync of ${result.tenantId} ended ${result.run?.state ?? result.skipped}`);
      }
    }
    const accounts = runtime.chimeLimiter
      .stats()
      .buckets.filter((bucket) => bucket.key.startsWith('account'))
      .map((bucket) => `${bucket.key} ${bucket.acquired} tokens at ${bucket.configuredRate}/s`)
      .join('; ');
    const phases = tenants.map((tenant, index) => {
      const timing = timings[index] as SyncTimings;
      return `${tenant.region}: awaiting list pages ${(timing.listMs / 1000).toFixed(1)} s, DynamoDB ${((timing.scanDynamoMs + timing.applyDynamoMs) / 1000).toFixed(1)} s`;
    });
    return {
      results,
      phases,
      seconds: timings.map((timing) => ((timing.finishedAt ?? timing.startedAt) - timing.startedAt) / 1000),
      throttled: delta.totalThrottled,
      calls: delta.total,
      limiter: accounts,
    };
  } finally {
    runtime.destroy();
  }
}

/** An emulator at `scale` with one tenant of USERS users in each Region, their policies put. */
async function prepare(dynamodb: string, scale: number, label: string) {
  const emulator = await startEmulator(scale);
  const config = benchConfig(`bench-${label}-${randomUUID().slice(0, 8)}`, scale);
  const setup = benchRuntime(config, { dynamodb, chime: emulator.url });
  const tenants: RegionTenant[] = [];
  try {
    await ensureTables(setup.dynamo, config);
    for (const region of REGIONS) {
      const id = `${label}-${region}`;
      const arn = await seedTenant(emulator.url, id, USERS, region);
      await putPolicy(setup, id, arn);
      tenants.push({ id, arn, region });
    }
  } catch (error) {
    await stopChild(emulator.process);
    throw error;
  } finally {
    setup.destroy();
  }
  return { emulator, config, tenants };
}

/** Each tenant's first-sync seconds with the quotas lifted: what this machine needs for the same work. */
async function ceilingSeconds(dynamodb: string): Promise<number[]> {
  const { emulator, config, tenants } = await prepare(dynamodb, CEILING_QUOTA_SCALE, 'ceiling');
  try {
    return (await syncBoth(config, { dynamodb, chime: emulator.url }, tenants)).seconds;
  } finally {
    await stopChild(emulator.process);
  }
}

export async function regionsScenario(dynamodb: string): Promise<BenchSection> {
  const scale = REGIONS_QUOTA_SCALE;
  const ceilings = await ceilingSeconds(dynamodb);
  let emulator: Child | undefined;
  try {
    const prepared = await prepare(dynamodb, scale, 'regions');
    emulator = prepared.emulator;
    const { config, tenants } = prepared;
    const first = await syncBoth(config, { dynamodb, chime: emulator.url }, tenants);
    const steady = await syncBoth(config, { dynamodb, chime: emulator.url }, tenants);
    const perTenant = perTenantCalls(first.results);
    const bounds = perTenant.map((tenant) => quotaBound([tenant], tenant.chimeCalls, scale));
    const oneRegion = quotaBound(perTenant, sum(perTenant.map((tenant) => tenant.chimeCalls)), scale);
    const wall = Math.max(...first.seconds);
    const rows: BenchRow[] = tenants.flatMap((tenant, index): BenchRow[] => {
      const bound = bounds[index] as { seconds: number };
      const seconds = first.seconds[index] as number;
      const both = {
        kind: 'seconds' as const,
        quota: bound.seconds,
        ceiling: ceilings[index] ?? 0,
        unit: 's',
      };
      return [
        {
          metric: `${tenant.region}: first-sync wall time`,
          value: seconds,
          unit: 's',
          baseline: { label: "its Region's quota bound", value: bound.seconds },
        },
        {
          metric: `${tenant.region}: first-sync wall time ÷ max(its Region's quota bound, ceiling)`,
          value: seconds / effectiveBound(both),
          unit: '×',
          bounds: both,
          goal: { op: '<=', value: 1.1 },
        },
      ];
    });
    rows.push(
      {
        metric: 'both first syncs, wall time',
        value: wall,
        unit: 's',
        baseline: { label: 'bound if both shared one Region', value: oneRegion.seconds },
      },
      {
        metric: 'throttled share of calls (first + steady-state sync)',
        value: (100 * (first.throttled + steady.throttled)) / Math.max(1, first.calls + steady.calls),
        unit: '%',
        goal: { op: '<=', value: 1 },
      },
      {
        metric: 'Chime calls per user, steady-state sync',
        value: steady.calls / (USERS * tenants.length),
        unit: 'calls/user',
        goal: { op: '<=', value: 0.021 },
      },
    );
    const notes = [
      `quota scale ${scale} (BENCH_REGIONS_QUOTA_SCALE) for the emulator and the Runtime alike, in each Region: per AppInstance ${10 * scale} writes/s, ${20 * scale} describes/s, ${10 * scale} lists/s; account ${50 * scale} calls/s per Region`,
      `2 × ${USERS.toLocaleString('en-US')} users (BENCH_REGIONS_USERS), one AppInstance in us-east-1 and one in eu-central-1 of the same account, synced concurrently through one Runtime; the emulator serves both Regions at one URL (each request acts in the Region it is signed for)`,
      ...tenants.map(
        (tenant, index) =>
          `${tenant.region}: ${perTenant[index]?.chimeCalls} calls; its quota bound ${bounds[index]?.seconds.toFixed(1)} s, by ${bounds[index]?.binding}; ceiling (the same two first syncs with the quotas lifted, CEILING_QUOTA_SCALE) ${ceilings[index]?.toFixed(1)} s`,
      ),
      `limiter account buckets after the first sync: ${first.limiter}`,
      `first sync, where the time went: ${first.phases.join('; ')}`,
      `${os.cpus().length} cores, load average ${os.loadavg()[0]?.toFixed(1)} at the end; the emulator and DynamoDB Local run on the same cores as the sync`,
      `if both Regions' calls shared one account quota, the bound would be ${oneRegion.seconds.toFixed(1)} s (${oneRegion.binding}); together they asked for ${(first.calls / wall).toFixed(0)} calls/s`,
    ];
    return { title: 'Sync of two tenants in two Regions, concurrently', notes, rows };
  } finally {
    if (emulator) await stopChild(emulator.process);
  }
}
