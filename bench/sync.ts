/**
 * Sync benchmark (issue 4): the scheduled policy sync (pull mode, the same use case as the Lambda) against the
 * Chime emulator at AWS's quota ratios, scaled by BENCH_QUOTA_SCALE, and DynamoDB Local. For one 10k-user
 * tenant and for 3 tenants synced concurrently through one Runtime (one shared limiter), it measures Chime
 * calls per user on the first and on a steady-state sync, first-sync wall time against the quota lower bound
 * of the calls it made, the throttled share, and the same steady-state work done the naive way (list, then
 * Describe and Put every user with a plain SDK client and its default retries). A 100k-user tenant is then
 * synced in a child process for its peak RSS.
 *
 * The emulator runs as a child process (the CLI, as a user runs it), so its CPU and memory are not the
 * sync's; the emulator's own call counters are the authoritative call and throttle counts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  ChimeSDKIdentityClient,
  DescribeAppInstanceUserCommand,
  ExpirationCriterion,
  ListAppInstanceUsersCommand,
  PutAppInstanceUserExpirationSettingsCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import pLimit from 'p-limit';
import { type DynamoDbLocal, startDynamoDbLocal } from '../local/dynamodb-local';
import { ensureTables } from '../shared/aws/tables';
import type { RateLimiterStats } from '../shared/chime/rate-limiter';
import type { Runtime } from '../shared/composition-root';
import type { Config } from '../shared/config';
import { compilePolicy, decide, parsePolicy, resolveExpiration } from '../shared/policy';
import { type PullModeResult, syncInProcess } from '../shared/sync/pull-mode';
import { type BenchRow, type BenchSection, positiveFromEnv } from './lib';
import {
  benchConfig,
  benchRuntime,
  mixSummary,
  newTimings,
  POPULATION_MIX,
  policyDocument,
  population,
  putPolicy,
  type SyncTimings,
  syncDeps,
  useDummyCredentials,
} from './sync-stack';
import type { WorkerInput, WorkerResult } from './sync-worker';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * 20x AWS's quotas keeps the whole suite around 4 minutes on a 2-core machine; the ratios (10 writes, 20
 * describes, 10 lists per AppInstance, 50 per account) are AWS's at any scale.
 */
const QUOTA_SCALE = positiveFromEnv('BENCH_QUOTA_SCALE', 20);
/** The 100k-user RSS run only needs the whole sync to happen, so it runs at a higher scale to stay short. */
const RSS_QUOTA_SCALE = positiveFromEnv('BENCH_RSS_QUOTA_SCALE', 200);
const USERS = Math.round(positiveFromEnv('BENCH_SYNC_USERS', 10_000));
const RSS_USERS = Math.round(positiveFromEnv('BENCH_SYNC_RSS_USERS', 100_000));
const TENANTS = 3;
/**
 * The 100k-user memory run takes minutes of mostly DynamoDB Local work; by default it runs under nice 19
 * while the other sections are measured, so the suite stays within a few minutes. 0 runs it alone, after.
 */
const RSS_PARALLEL = process.env.BENCH_SYNC_RSS_PARALLEL?.trim() !== '0';
/** Which parts to run (comma-separated: one, three, rss); all by default. */
const SCENARIOS = new Set(
  (process.env.BENCH_SYNC_SCENARIOS ?? 'one,three,rss').split(',').map((name) => name.trim()),
);
const NAIVE_CONCURRENCY = 16;
/** The naive script re-runs the users whose calls still failed after the SDK's retries, at most this often. */
const NAIVE_MAX_ROUNDS = 50;
const MB = 1024 * 1024;

/** AWS default Chime SDK Identity rates (requests per second) that the lower bound divides by. */
const RATES = { writes: 10, describes: 20, lists: 10, account: 50 } as const;

// ---------------------------------------------------------------------------------------------------------
// Child processes

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
}

const running = new Set<ChildProcess>();
/** Last resort if the benchmark dies without reaching its `finally`: never leave an emulator behind. */
const killRunning = () => {
  for (const child of running) child.kill('SIGKILL');
};

/**
 * Starts a Node child (`args` after the node binary) and resolves with the first `http://host:port` it
 * prints. `background` runs it under `nice -n 19`, inherited by everything it starts (the JVM of DynamoDB
 * Local, tsx's esbuild), so it only takes CPU the measured foreground leaves idle.
 */
function spawnNode(args: readonly string[], options: { background?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const [command, commandArgs] = options.background
    ? ['nice', ['-n', '19', process.execPath, ...args]]
    : [process.execPath, [...args]];
  const child = spawn(command as string, commandArgs as string[], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    ...(options.env ? { env: options.env } : {}),
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function waitForUrl(child: ChildProcess, what: string): Promise<Child> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => reject(new Error(`${what} printed no URL within 60 s`)), 60_000);
    lines.on('line', (line) => {
      const url = /http:\/\/[\d.]+:\d+/.exec(line)?.[0];
      if (url) {
        clearTimeout(timer);
        resolve({ process: child, url });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited early with ${code}`));
    });
  });
}

function startEmulator(quotaScale: number, background = false): Promise<Child> {
  const args = [
    'bin/chime-lifecycle.js',
    'emulator',
    '--port',
    '0',
    '--quota-scale',
    String(quotaScale),
    // AWS's 6 h: nobody in the population is expired, so the sweeper never deletes a user mid-run.
    '--expiry-delay-seconds',
    '21600',
  ];
  return waitForUrl(spawnNode(args, { background }), 'emulator');
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Runs bench/sync-worker.ts (through tsx, like `npm run bench`) and returns its RESULT line. */
function runWorker(input: WorkerInput, background: boolean): Promise<WorkerResult> {
  const child = spawnNode(['--import', 'tsx', 'bench/sync-worker.ts'], {
    background,
    env: { ...process.env, BENCH_SYNC_WORKER: JSON.stringify(input) },
  });
  return new Promise((resolve, reject) => {
    let result: WorkerResult | undefined;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.startsWith('RESULT ')) result = JSON.parse(line.slice('RESULT '.length)) as WorkerResult;
    });
    child.once('exit', (code) => {
      if (code === 0 && result) resolve(result);
      else reject(new Error(`sync worker exited with ${code}${result ? '' : ' and no result'}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// Emulator admin API

interface EmulatorStats {
  readonly calls: Record<string, number>;
  readonly throttled: Record<string, number>;
}

async function emulatorStats(url: string): Promise<EmulatorStats> {
  const response = await fetch(`${url}/_emulator/stats`);
  if (!response.ok) throw new Error(`GET /_emulator/stats answered ${response.status}`);
  return (await response.json()) as EmulatorStats;
}

async function seedTenant(url: string, name: string, size: number): Promise<string> {
  const response = await fetch(`${url}/_emulator/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ appInstanceName: name, users: population(size, Date.now()) }),
  });
  const body = (await response.json()) as { appInstanceArn?: string; userArns?: string[] };
  if (response.status !== 201 || !body.appInstanceArn || body.userArns?.length !== size) {
    throw new Error(
      `seeding ${name} failed with HTTP ${response.status}: ${JSON.stringify(body).slice(0, 300)}`,
    );
  }
  return body.appInstanceArn;
}

/** Calls (every attempt, throttled ones included) and throttles between two stats readings. */
class CallDelta {
  readonly calls: Record<string, number> = {};
  readonly throttled: Record<string, number> = {};

  constructor(before: EmulatorStats, after: EmulatorStats) {
    for (const [operation, count] of Object.entries(after.calls)) {
      const delta = count - (before.calls[operation] ?? 0);
      if (delta > 0) this.calls[operation] = delta;
    }
    for (const [operation, count] of Object.entries(after.throttled)) {
      const delta = count - (before.throttled[operation] ?? 0);
      if (delta > 0) this.throttled[operation] = delta;
    }
  }

  get total(): number {
    return sum(Object.values(this.calls));
  }

  get totalThrottled(): number {
    return sum(Object.values(this.throttled));
  }

  /** Calls the emulator admitted (a throttled call takes no quota token). */
  admitted(operation: string): number {
    return (this.calls[operation] ?? 0) - (this.throttled[operation] ?? 0);
  }

  describe(): string {
    return Object.entries(this.calls)
      .map(
        ([operation, count]) =>
          `${operation} ${count}${this.throttled[operation] ? ` (${this.throttled[operation]} throttled)` : ''}`,
      )
      .join(', ');
  }
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

// ---------------------------------------------------------------------------------------------------------
// Quota lower bound

interface QuotaBound {
  readonly seconds: number;
  readonly binding: string;
}

/**
 * The least time the calls a sync made can take at the (scaled) quotas: the busiest bucket's calls over its
 * rate. Per AppInstance (one per tenant): writes (Put/Create) at 10K, describes at 20K, lists at 10K per
 * second; per account: every call at 50K. Only admitted calls count: a throttled call takes no token.
 */
function quotaBound(
  perTenant: readonly { tenantId: string; writes: number; describes: number; lists: number }[],
  accountCalls: number,
  scale: number,
): QuotaBound {
  const candidates: QuotaBound[] = [
    {
      seconds: accountCalls / (RATES.account * scale),
      binding: `account: ${accountCalls} calls at ${RATES.account * scale}/s`,
    },
  ];
  for (const tenant of perTenant) {
    candidates.push(
      {
        seconds: tenant.describes / (RATES.describes * scale),
        binding: `${tenant.tenantId} describes: ${tenant.describes} at ${RATES.describes * scale}/s`,
      },
      {
        seconds: tenant.writes / (RATES.writes * scale),
        binding: `${tenant.tenantId} writes: ${tenant.writes} at ${RATES.writes * scale}/s`,
      },
      {
        seconds: tenant.lists / (RATES.lists * scale),
        binding: `${tenant.tenantId} lists: ${tenant.lists} at ${RATES.lists * scale}/s`,
      },
    );
  }
  return candidates.reduce((best, candidate) => (candidate.seconds > best.seconds ? candidate : best));
}

function perTenantCalls(results: readonly PullModeResult[]) {
  return results.map((result) => {
    const counters = result.run?.counters;
    return {
      tenantId: result.tenantId,
      writes: (counters?.set ?? 0) + (counters?.removed ?? 0),
      describes: counters?.described ?? 0,
      lists: counters?.pages ?? 0,
      chimeCalls: counters?.chimeCalls ?? 0,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// The naive way

interface NaiveResult {
  readonly seconds: number;
  /** Users whose Describe or Put still failed after the SDK's retries in the first pass. */
  readonly failedFirstRound: number;
  readonly rounds: number;
  /** Users never reconciled (failed in every round); 0 unless NAIVE_MAX_ROUNDS ran out. */
  readonly unfinished: number;
}

/**
 * What a script without this project would do: list every user, then Describe each and Put the policy's
 * expiration (the value it should have, even when it already has it) with a plain SDK client and its
 * default retries (standard mode, 3 attempts, retry quota), 16 users in flight per tenant. Users whose
 * calls still fail are run again, as an operator would re-run the script, until none fail, so the wall
 * time is that of doing all the work. Unmanaged users are described but never written.
 */
async function naiveTenantPass(url: string, config: Config, tenantId: string, arn: string) {
  const client = new ChimeSDKIdentityClient({
    endpoint: url,
    region: config.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    const parsed = parsePolicy(policyDocument(tenantId, arn));
    if (!parsed.ok) throw new Error('bench policy is invalid');
    const policy = compilePolicy(parsed.policy);
    const users: { arn: string; appInstanceUserId: string; metadata: string }[] = [];
    let nextToken: string | undefined;
    do {
      try {
        const page = await client.send(
          new ListAppInstanceUsersCommand({ AppInstanceArn: arn, MaxResults: 50, NextToken: nextToken }),
        );
        for (const user of page.AppInstanceUsers ?? []) {
          const userArn = user.AppInstanceUserArn ?? '';
          users.push({
            arn: userArn,
            appInstanceUserId: userArn.slice(userArn.lastIndexOf('/') + 1),
            metadata: user.Metadata ?? '',
          });
        }
        nextToken = page.NextToken || undefined;
      } catch {
        // Retries exhausted on this page: ask for the same page again.
      }
    } while (nextToken !== undefined);

    const limit = pLimit(NAIVE_CONCURRENCY);
    const reconcile = async (user: (typeof users)[number]) => {
      const described = await client.send(
        new DescribeAppInstanceUserCommand({ AppInstanceUserArn: user.arn }),
      );
      const resolved = resolveExpiration(policy, user);
      if (resolved.expiration === 'unmanaged') return;
      const current = {
        createdAt: described.AppInstanceUser?.CreatedTimestamp?.getTime() ?? 0,
        expirationDays: described.AppInstanceUser?.ExpirationSettings?.ExpirationDays,
      };
      const decision = decide(policy, user, current, Date.now());
      const days =
        decision.desired.kind === 'set'
          ? decision.desired.days
          : decision.desired.kind === 'remove'
            ? undefined
            : current.expirationDays;
      await client.send(
        new PutAppInstanceUserExpirationSettingsCommand({
          AppInstanceUserArn: user.arn,
          ...(days === undefined
            ? {}
            : {
                ExpirationSettings: {
                  ExpirationDays: days,
                  ExpirationCriterion: ExpirationCriterion.CREATED_TIMESTAMP,
                },
              }),
        }),
      );
    };
    let todo = users;
    let rounds = 0;
    let failedFirstRound = 0;
    while (todo.length > 0 && rounds < NAIVE_MAX_ROUNDS) {
      rounds++;
      const failed: typeof users = [];
      await Promise.all(todo.map((user) => limit(() => reconcile(user).catch(() => void failed.push(user)))));
      if (rounds === 1) failedFirstRound = failed.length;
      todo = failed;
    }
    return { failedFirstRound, rounds, unfinished: todo.length };
  } finally {
    client.destroy();
  }
}

async function naivePass(url: string, config: Config, tenants: readonly Tenant[]): Promise<NaiveResult> {
  const started = performance.now();
  const results = await Promise.all(
    tenants.map((tenant) => naiveTenantPass(url, config, tenant.id, tenant.arn)),
  );
  return {
    seconds: (performance.now() - started) / 1000,
    failedFirstRound: sum(results.map((result) => result.failedFirstRound)),
    rounds: Math.max(...results.map((result) => result.rounds)),
    unfinished: sum(results.map((result) => result.unfinished)),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios

interface Tenant {
  readonly id: string;
  readonly arn: string;
}

interface SyncMeasurement {
  readonly seconds: number;
  readonly results: PullModeResult[];
  readonly delta: CallDelta;
  readonly timings: SyncTimings[];
}

/** Syncs the tenants concurrently, one syncInProcess each, through one Runtime (so one shared limiter). */
async function measureSync(
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

async function syncScenario(
  title: string,
  url: string,
  config: Config,
  dynamodb: string,
  tenants: readonly Tenant[],
  users: number,
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
    const syncCalls = first.delta.total + steady.delta.total;
    const syncThrottled = first.delta.totalThrottled + steady.delta.totalThrottled;
    const naiveThrottledPercent =
      naiveDelta.total === 0 ? 0 : (100 * naiveDelta.totalThrottled) / naiveDelta.total;

    const notes = [
      `quota scale ${QUOTA_SCALE} (BENCH_QUOTA_SCALE) for the emulator and the Runtime alike: per AppInstance ${RATES.writes * QUOTA_SCALE} writes/s, ${RATES.describes * QUOTA_SCALE} describes/s, ${RATES.lists * QUOTA_SCALE} lists/s; account ${RATES.account * QUOTA_SCALE} calls/s`,
      `${tenants.length} × ${users.toLocaleString('en-US')} users, synced ${tenants.length > 1 ? 'concurrently (one syncInProcess per tenant, one shared Runtime and limiter)' : 'in pull mode'}; calls and throttles from the emulator's /_emulator/stats`,
      `first sync: ${first.delta.describe()}`,
      `steady-state sync: ${steady.delta.describe()} in ${steady.seconds.toFixed(2)} s`,
      `quota lower bound of the first sync: ${bound.seconds.toFixed(1)} s, bound by ${bound.binding}` +
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
        metric: 'first-sync wall time ÷ quota lower bound',
        value: first.seconds / bound.seconds,
        unit: '×',
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

interface RssJob {
  /** Starts the worker; resolves with the section once it is done. */
  run(): Promise<BenchSection>;
  close(): Promise<void>;
}

/**
 * Sets up the 100k-user run on its own emulator and DynamoDB Local (seeded before anything is measured), so
 * that with `background` it can run under `nice` while the foreground is measured: its peak RSS does not
 * depend on its pace, and it takes only CPU the foreground leaves idle.
 */
async function prepareRss(config: Config, background: boolean): Promise<RssJob> {
  const children: Child[] = [];
  const close = async () => {
    await Promise.all(children.map((child) => stopChild(child.process)));
  };
  try {
    const [dynamo, emulator] = await Promise.all([
      waitForUrl(spawnNode(['--import', 'tsx', 'bench/sync-dynamo.ts'], { background }), 'DynamoDB Local'),
      startEmulator(RSS_QUOTA_SCALE, background),
    ]);
    children.push(dynamo, emulator);
    const rssConfig = { ...config, quotaScale: RSS_QUOTA_SCALE };
    const setup = benchRuntime(rssConfig, { dynamodb: dynamo.url, chime: emulator.url });
    const tenantId = 'big';
    try {
      await ensureTables(setup.dynamo, rssConfig);
      const arn = await seedTenant(emulator.url, 'bench-big', RSS_USERS);
      await putPolicy(setup, tenantId, arn);
    } finally {
      setup.destroy();
    }
    const run = async (): Promise<BenchSection> => {
      const before = await emulatorStats(emulator.url);
      const result = await runWorker(
        { config: rssConfig, endpoints: { dynamodb: dynamo.url, chime: emulator.url }, tenantId },
        background,
      );
      const delta = new CallDelta(before, await emulatorStats(emulator.url));
      if (result.state !== 'completed') throw new Error(`${RSS_USERS}-user sync ended ${result.state}`);
      return rssSection(result, delta, background);
    };
    return { run, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function rssSection(result: WorkerResult, delta: CallDelta, background: boolean): BenchSection {
  return {
    title: `Sync of a ${RSS_USERS.toLocaleString('en-US')}-user tenant in a child process: memory`,
    notes: [
      `quota scale ${RSS_QUOTA_SCALE} (BENCH_RSS_QUOTA_SCALE) for this run only, to keep it short: the sync's memory does not depend on its pace`,
      `the worker (bench/sync-worker.ts, run through tsx like \`npm run bench\`) builds a Runtime and runs syncInProcess against its own emulator and DynamoDB Local; peak = process.resourceUsage().maxRSS, start-up included (sampled peak during the sync ${Math.round(result.sampledPeakRssBytes / MB)} MB)`,
      background
        ? `ran under nice 19 in the background of the measured sections, so its ${result.seconds.toFixed(0)} s say nothing about speed (BENCH_SYNC_RSS_PARALLEL=0 runs it alone, after them)`
        : `ran alone after the other sections: ${result.seconds.toFixed(1)} s`,
      `first sync of the same population mix: ${delta.describe()}, ${result.scanned} users scanned`,
    ],
    rows: [
      {
        metric: 'peak RSS of the sync process',
        value: Math.round(result.maxRssBytes / MB),
        unit: 'MB',
        baseline: {
          label: 'same process before the sync',
          value: Math.round(result.rssBeforeSyncBytes / MB),
        },
        goal: { op: '<=', value: 256 },
      },
      { metric: 'Chime calls per user, first sync', value: delta.total / RSS_USERS, unit: 'calls/user' },
      {
        metric: 'throttled share of calls',
        value: delta.total === 0 ? 0 : (100 * delta.totalThrottled) / delta.total,
        unit: '%',
        goal: { op: '<=', value: 1 },
      },
    ],
  };
}

function populationNote(users: number): string {
  const mix = mixSummary();
  const slices = POPULATION_MIX.map((slice) => `${slice.percent}% ${slice.label}`).join('; ');
  return (
    `population per tenant (${users.toLocaleString('en-US')} users, slices interleaved by index): ${slices}. ` +
    `The first sync describes ${mix.describedPercent}% of users and writes ${mix.scanWritePercent + mix.applyWritePercent}% ` +
    `(${mix.scanWritePercent}% lengthening or removing, ${mix.applyWritePercent}% shortening; with these safety caps no run can be held, so all are written during the scan); ` +
    'policy: guests 7 d, trial 30 d, staff never, svc- unmanaged, default 365 d, safety caps generous so nothing is held'
  );
}

export async function run(): Promise<BenchSection[]> {
  useDummyCredentials();
  process.once('exit', killRunning);
  const machine = `${os.cpus().length} cores, load average ${os.loadavg()[0]?.toFixed(1)} at start; the emulator and DynamoDB Local (Java) run on the same cores as the sync`;
  const config = benchConfig(`bench-${randomUUID().slice(0, 8)}`, QUOTA_SCALE);
  let dynamo: DynamoDbLocal | undefined;
  let emulator: Child | undefined;
  let setup: Runtime | undefined;
  let rss: RssJob | undefined;
  try {
    let rssSectionPromise: Promise<BenchSection> | undefined;
    if (SCENARIOS.has('rss') && RSS_PARALLEL) {
      rss = await prepareRss(config, true);
      rssSectionPromise = rss.run();
      // Reported once awaited below; until then a failure must not be an unhandled rejection.
      rssSectionPromise.catch(() => {});
    }
    dynamo = await startDynamoDbLocal();
    emulator = await startEmulator(QUOTA_SCALE);
    setup = benchRuntime(config, { dynamodb: dynamo.url, chime: emulator.url });
    await ensureTables(setup.dynamo, config);
    const seedAll = async (ids: readonly string[]) => {
      const tenants: Tenant[] = [];
      for (const id of ids) {
        const arn = await seedTenant((emulator as Child).url, `bench-${id}`, USERS);
        await putPolicy(setup as Runtime, id, arn);
        tenants.push({ id, arn });
      }
      return tenants;
    };
    const sections: BenchSection[] = [];
    if (SCENARIOS.has('one')) {
      const solo = await seedAll(['solo']);
      const title = `Sync of one ${USERS.toLocaleString('en-US')}-user tenant`;
      const one = await syncScenario(title, emulator.url, config, dynamo.url, solo, USERS);
      sections.push({ ...one, notes: [...(one.notes ?? []), populationNote(USERS), machine] });
    }
    if (SCENARIOS.has('three')) {
      const trio = await seedAll(['trio-a', 'trio-b', 'trio-c'].slice(0, TENANTS));
      const title = `Sync of ${TENANTS} tenants × ${USERS.toLocaleString('en-US')} users, concurrently`;
      sections.push(await syncScenario(title, emulator.url, config, dynamo.url, trio, USERS));
    }
    await stopChild(emulator.process);
    await dynamo.close();
    dynamo = undefined;
    if (SCENARIOS.has('rss')) {
      if (!rssSectionPromise) {
        rss = await prepareRss(config, false);
        rssSectionPromise = rss.run();
      }
      sections.push(await rssSectionPromise);
    }
    return sections;
  } finally {
    setup?.destroy();
    if (emulator) await stopChild(emulator.process);
    await dynamo?.close();
    await rss?.close();
    killRunning();
    process.off('exit', killRunning);
  }
}
