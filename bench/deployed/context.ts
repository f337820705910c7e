/**
 * What every phase of the deployed-shape bench works with: the local stack under serverless offline, the
 * rows and notes of the section, the User Onboarded events, the account bucket's holders sampled every
 * second, and the running totals of the final rows.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ReceivedEvent } from '../../local/eventbridge-server';
import { freePort } from '../../local/free-port';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { QuotaLeases } from '../../shared/aws/quota-leases';
import { isAccountBucket } from '../../shared/chime/quotas';
import { DAY_MS } from '../../shared/policy';
import type { BenchRow } from '../lib';
import { putPolicy } from '../sync-stack';
import { type CallCounts, sum } from './calls';
import { progress, SCALE, sleep } from './settings';

export interface Tenant {
  readonly tenantId: string;
  readonly arn: string;
}

export interface DeployedRun {
  readonly stack: LocalStack;
  readonly leases: QuotaLeases;
  /** Suffix of this run's tenant ids. */
  readonly runId: string;
  readonly rows: BenchRow[];
  readonly notes: string[];
  /** User Onboarded events, `at` on performance.now(). */
  readonly onboarded: { at: number; key: string }[];
  /** Who holds the account bucket, sampled every second (`at` on Date.now()). */
  readonly holderSamples: { at: number; holders: number }[];
  /** The last lines serverless offline printed, shown if a phase fails. */
  readonly serverlessLines: string[];
  /** Chime calls of the syncs (no faults injected): the throttled-share row. */
  readonly syncCalls: { calls: number; throttled: number };
  /** The competitor's calls, which are not ours to coordinate. */
  competitorCalls: number;
  /** Every failure the stack reported (`HandlerTimeoutError`: an invocation ran past its timeout). */
  readonly errors: { readonly source: string; readonly name: string }[];
  /** The quota scale of the emulator and the functions. */
  readonly quotaScale: number;
  /** Stops the sampler and the stack. */
  stop(): Promise<void>;
}

/**
 * Starts the stack under serverless offline (at BENCH_DEPLOYED_QUOTA_SCALE unless `quotaScale` is given) and
 * the lease sampler; the first notes describe the set-up. `enforcedQuotaScale`: a ceiling run, the same
 * wiring with the quotas of the emulator and the functions lifted to that scale.
 */
export async function startDeployedRun(
  options: { quotaScale?: number; enforcedQuotaScale?: number } = {},
): Promise<DeployedRun> {
  const quotaScale = options.quotaScale ?? SCALE;
  const errors: DeployedRun['errors'] = [];
  const ports = {
    dynamodb: await freePort(),
    sqs: await freePort(),
    chime: await freePort(),
    eventbridge: await freePort(),
    lambda: await freePort(),
  };
  const onboarded: DeployedRun['onboarded'] = [];
  const serverlessLines: string[] = [];
  const stack = await startLocalStack({
    ports,
    demo: false,
    scheduleMinutes: 0,
    quotaScale,
    ...(options.enforcedQuotaScale ? { enforcedQuotaScale: options.enforcedQuotaScale } : {}),
    functions: 'serverless-offline',
    workDir: await mkdtemp(path.join(tmpdir(), 'bench-deployed-')),
    onEvent: (event: ReceivedEvent) => {
      if (event.detailType !== 'User Onboarded') return;
      const detail = event.detail as { tenantId: string; appInstanceUserId: string };
      onboarded.push({ at: performance.now(), key: `${detail.tenantId}/${detail.appInstanceUserId}` });
    },
    onServerlessOutput: (line) => {
      serverlessLines.push(line);
      if (serverlessLines.length > 40) serverlessLines.shift();
    },
    onError: (source, error) => {
      errors.push({ source, name: error instanceof Error ? error.name : typeof error });
      const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
      progress(`${source}: ${error instanceof Error ? error.message : String(error)}${cause}`);
    },
  });
  const notes: string[] = [
    `quota scale ${quotaScale} for the emulator and the functions: per AppInstance ${10 * quotaScale} writes/s, ${20 * quotaScale} describes/s, ${10 * quotaScale} lists/s; account ${50 * quotaScale} calls/s`,
    `functions under serverless offline, event sources as serverless.yml declares them: ${Object.entries(
      stack.eventSources,
    )
      .map(
        ([name, source]) =>
          `${name} ${source.concurrency} × batch ${source.batchSize}${source.maximumBatchingWindowSeconds > 0 ? ` (window ${source.maximumBatchingWindowSeconds} s)` : ''}`,
      )
      .join(', ')}; quota leases of ${stack.config.quotaLeaseSeconds} s in the state table`,
  ];
  const leases = new QuotaLeases(stack.runtime.documents, stack.config.stateTable);
  const holderSamples: DeployedRun['holderSamples'] = [];
  // GetItem: not counted in the leases' own counter.
  const sampler = setInterval(() => {
    leases
      .read()
      .then(({ leases: stored }) => {
        const now = Date.now();
        holderSamples.push({
          at: now,
          holders: stored.filter((lease) => lease.expiresAtMs > now && lease.buckets.some(isAccountBucket))
            .length,
        });
      })
      .catch(() => undefined);
  }, 1_000);
  return {
    stack,
    leases,
    runId: randomUUID().slice(0, 6),
    rows: [],
    notes,
    onboarded,
    holderSamples,
    serverlessLines,
    syncCalls: { calls: 0, throttled: 0 },
    competitorCalls: 0,
    errors,
    quotaScale,
    stop: async () => {
      clearInterval(sampler);
      await stack.stop();
    },
  };
}

export function holdersBetween(run: DeployedRun, from: number, to: number): string {
  const samples = run.holderSamples.filter(
    (sample) => sample.at >= from && sample.at <= to && sample.holders > 0,
  );
  if (samples.length === 0) return 'no samples';
  const counts = samples.map((sample) => sample.holders);
  const mean = counts.reduce((total, count) => total + count, 0) / counts.length;
  return `processes holding the account bucket while working: mean ${mean.toFixed(1)}, max ${Math.max(...counts)}`;
}

/** Adds a sync's calls to the throttled-share row. */
export function countSync(run: DeployedRun, calls: CallCounts): void {
  run.syncCalls.calls += sum(calls.calls);
  run.syncCalls.throttled += sum(calls.throttled);
}

/** A third without expiration, a third drifted (30 d where the policy says 365), a third compliant. */
function thirds(prefix: string, size: number, now: number) {
  return Array.from({ length: size }, (_, index) => ({
    appInstanceUserId: `user-${prefix}${String(index).padStart(6, '0')}`,
    name: `User ${index}`,
    metadata: '{"plan":"pro"}',
    createdAt: new Date(now - 10 * DAY_MS).toISOString(),
    ...(index % 3 === 1 ? { expirationDays: 30 } : index % 3 === 2 ? { expirationDays: 365 } : {}),
  }));
}

/** A tenant's AppInstance seeded with `users` users in thirds. */
export function seedTenant(run: DeployedRun, tenantId: string, users: number): Tenant {
  return {
    tenantId,
    arn: run.stack.emulator.seed({
      appInstanceName: tenantId,
      users: thirds(tenantId.slice(-3), users, Date.now()),
    }).appInstanceArn,
  };
}

/** Puts each tenant's policy (which starts its sync); returns when that began. */
export async function startSync(run: DeployedRun, tenants: readonly Tenant[]): Promise<number> {
  const since = Date.now();
  await Promise.all(tenants.map((tenant) => putPolicy(run.stack.runtime, tenant.tenantId, tenant.arn)));
  return since;
}

export interface FinishedRuns {
  /** When each tenant's run finished. */
  readonly finished: Map<string, number>;
  /** When those runs started (the gap from the policy put is the trigger path). */
  readonly started: Map<string, number>;
}

/** Waits until each tenant has a finished run that started at or after `since`. */
export async function runsFinished(
  run: DeployedRun,
  tenantIds: readonly string[],
  since: number,
  timeoutMs: number,
): Promise<FinishedRuns> {
  const finished = new Map<string, number>();
  const started = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  while (finished.size < tenantIds.length) {
    for (const tenantId of tenantIds) {
      if (finished.has(tenantId)) continue;
      const [latest] = await run.stack.runtime.runs.recent(tenantId, 1);
      if (!latest || Date.parse(latest.startedAt) < since - 1_000) continue;
      if (latest.state === 'failed') {
        throw new Error(`run of ${tenantId} failed: ${latest.reason ?? 'no reason'}`);
      }
      if ((latest.state === 'completed' || latest.state === 'held') && latest.finishedAt) {
        finished.set(tenantId, Date.parse(latest.finishedAt));
        started.set(tenantId, Date.parse(latest.startedAt));
      }
    }
    if (finished.size < tenantIds.length) {
      if (Date.now() > deadline) {
        throw new Error(
          `runs not finished within ${timeoutMs / 1000} s: ${finished.size}/${tenantIds.length}`,
        );
      }
      await sleep(200);
    }
  }
  return { finished, started };
}
