/**
 * What the sync benchmark (bench/sync.ts) and its 100k-user RSS worker (bench/sync-worker.ts) share: the
 * policy, the seeded population, and a Runtime wired to the emulator and DynamoDB Local with the sync's ports
 * timed, so a slow first sync can be attributed to a phase (scan, end of scan, apply) and to DynamoDB.
 */
import { performance } from 'node:perf_hooks';
import { isolatedConfig } from '../local/environment';
import { Runtime } from '../shared/composition-root';
import type { Config } from '../shared/config';
import type { EventSink } from '../shared/contracts/lifecycle-events';
import { DAY_MS, parsePolicy } from '../shared/policy';
import type { LedgerPort, ReconcileQueuePort, RunPort, UserDirectory } from '../shared/sync/ports';
import type { ReconcileDeps } from '../shared/sync/settings';
import { policyDocument as fixturePolicyDocument } from '../test/fixtures/policies';

/** Dummy credentials: every endpoint is local, and the benchmark must never reach a real AWS account. */
export function useDummyCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.AWS_REGION ??= 'us-east-1';
}

/** Table and queue names unique to one benchmark run, so reruns against a kept DynamoDB Local never collide. */
export function benchConfig(prefix: string, quotaScale: number): Config {
  return isolatedConfig(prefix, { quotaScale });
}

export function benchRuntime(config: Config, endpoints: { dynamodb: string; chime: string }): Runtime {
  return new Runtime(config, { endpoints });
}

/**
 * Safety caps generous enough that nothing is held: the benchmark measures a sync that applies everything,
 * and caps that can never hold a run, so shortening changes are written during the scan like any other.
 */
export const GENEROUS_SAFETY = {
  minRemainingDays: 1,
  maxShorteningChanges: 1_000_000,
  maxShorteningPercent: 100,
};

export function policyDocument(tenantId: string, appInstanceArn: string): Record<string, unknown> {
  return fixturePolicyDocument(tenantId, appInstanceArn, { safety: GENEROUS_SAFETY });
}

/** Stores the tenant's policy (version 1). */
export async function putPolicy(runtime: Runtime, tenantId: string, appInstanceArn: string): Promise<void> {
  const document = policyDocument(tenantId, appInstanceArn);
  const parsed = parsePolicy(document);
  if (!parsed.ok) throw new Error(`bench policy is invalid: ${JSON.stringify(parsed.problems)}`);
  await runtime.policyStore.put(parsed.policy, document, null);
}

/**
 * One slice of the population, per 100 users. `write`: what the first sync does to it. Users are interleaved
 * by index (user i gets slice i mod 100), so every id prefix mixes its slices the same way on every page;
 * pages themselves follow the id order (emp-, guest-, svc-, user-), as ListAppInstanceUsers returns them.
 */
interface Slice {
  readonly percent: number;
  readonly label: string;
  readonly prefix: 'guest-' | 'user-' | 'emp-' | 'svc-';
  readonly metadata: string;
  readonly ageDays: number;
  readonly expirationDays?: number;
  readonly write: 'shortening (apply phase)' | 'scan phase' | 'none';
}

export const POPULATION_MIX: readonly Slice[] = [
  {
    percent: 10,
    label: 'guest, no expiration (legacy)',
    prefix: 'guest-',
    metadata: '{"plan":"guest"}',
    ageDays: 3,
    write: 'shortening (apply phase)',
  },
  {
    percent: 5,
    label: 'guest drifted to 90 d',
    prefix: 'guest-',
    metadata: '{"plan":"guest"}',
    ageDays: 2,
    expirationDays: 90,
    write: 'shortening (apply phase)',
  },
  {
    percent: 10,
    label: 'guest, compliant 7 d',
    prefix: 'guest-',
    metadata: '{"plan":"guest"}',
    ageDays: 2,
    expirationDays: 7,
    write: 'none',
  },
  {
    percent: 5,
    label: 'trial (metadata), no expiration (legacy)',
    prefix: 'user-',
    metadata: '{"plan":"trial"}',
    ageDays: 3,
    write: 'shortening (apply phase)',
  },
  {
    percent: 5,
    label: 'trial, compliant 30 d',
    prefix: 'user-',
    metadata: '{"plan":"trial"}',
    ageDays: 3,
    expirationDays: 30,
    write: 'none',
  },
  {
    percent: 5,
    label: 'staff with a 200 d expiration (drifted)',
    prefix: 'emp-',
    metadata: '{"plan":"staff"}',
    ageDays: 100,
    expirationDays: 200,
    write: 'scan phase',
  },
  {
    percent: 5,
    label: 'staff, no expiration (compliant)',
    prefix: 'emp-',
    metadata: '{"plan":"staff"}',
    ageDays: 100,
    write: 'none',
  },
  {
    percent: 5,
    label: 'service user (unmanaged, never described)',
    prefix: 'svc-',
    metadata: '{"plan":"service"}',
    ageDays: 50,
    expirationDays: 60,
    write: 'none',
  },
  {
    percent: 10,
    label: 'default drifted to 30 d (lengthened to 365)',
    prefix: 'user-',
    metadata: '{"plan":"pro"}',
    ageDays: 10,
    expirationDays: 30,
    write: 'scan phase',
  },
  {
    percent: 5,
    label: 'default, no expiration (legacy)',
    prefix: 'user-',
    metadata: '{"plan":"pro"}',
    ageDays: 10,
    write: 'shortening (apply phase)',
  },
  {
    percent: 35,
    label: 'default, compliant 365 d',
    prefix: 'user-',
    metadata: '{"plan":"pro"}',
    ageDays: 10,
    expirationDays: 365,
    write: 'none',
  },
];

const SLICE_OF_PERCENT: readonly Slice[] = POPULATION_MIX.flatMap((slice) =>
  Array.from({ length: slice.percent }, () => slice),
);
if (SLICE_OF_PERCENT.length !== 100) throw new Error('POPULATION_MIX must add up to 100%');

export interface SeedUser {
  readonly appInstanceUserId: string;
  readonly name: string;
  readonly metadata: string;
  readonly createdAt: string;
  readonly expirationDays?: number;
}

export function population(size: number, now: number): SeedUser[] {
  const users: SeedUser[] = new Array(size);
  for (let index = 0; index < size; index++) {
    const slice = SLICE_OF_PERCENT[index % 100] as Slice;
    // emp- ids must match ^emp-[0-9]+$; the others are padded so the listing order is the index order.
    const id = slice.prefix === 'emp-' ? `emp-${index}` : `${slice.prefix}${String(index).padStart(7, '0')}`;
    users[index] = {
      appInstanceUserId: id,
      name: `User ${index}`,
      metadata: slice.metadata,
      createdAt: new Date(now - slice.ageDays * DAY_MS).toISOString(),
      ...(slice.expirationDays === undefined ? {} : { expirationDays: slice.expirationDays }),
    };
  }
  return users;
}

/** Expected per-user work of the first sync, from the mix. */
export function mixSummary(): {
  describedPercent: number;
  scanWritePercent: number;
  applyWritePercent: number;
} {
  let describedPercent = 0;
  let scanWritePercent = 0;
  let applyWritePercent = 0;
  for (const slice of POPULATION_MIX) {
    if (slice.prefix !== 'svc-') describedPercent += slice.percent;
    if (slice.write === 'scan phase') scanWritePercent += slice.percent;
    if (slice.write === 'shortening (apply phase)') applyWritePercent += slice.percent;
  }
  return { describedPercent, scanWritePercent, applyWritePercent };
}

/** Time spent in the sync's ports, in ms, and the phase boundaries (performance.now). */
export interface SyncTimings {
  startedAt: number;
  /** The scan's last page is done: end-of-scan starts (ledger.unseenBefore). */
  scanEndedAt?: number;
  /** The apply phase starts reading the pending shortening changes. */
  applyStartedAt?: number;
  finishedAt?: number;
  /** Awaiting the next ListAppInstanceUsers page (limiter wait + round trip), on the scan's critical path. */
  listMs: number;
  /** Ledger reads/writes and pending-change writes during the scan (sequential with the page's Chime calls). */
  scanDynamoMs: number;
  /** Ledger reads/writes and pending-change deletes during the apply phase. */
  applyDynamoMs: number;
}

export function newTimings(): SyncTimings {
  return { startedAt: performance.now(), listMs: 0, scanDynamoMs: 0, applyDynamoMs: 0 };
}

const NO_EVENTS: EventSink = { publish: async () => {} };

/**
 * The sync's dependencies as pull mode builds them, with EventBridge replaced by a sink that drops events
 * (publishing is not what is measured, and it is not a Chime call) and, when `timings` is given, every
 * DynamoDB port and the listing timed.
 */
export function syncDeps(runtime: Runtime, queue: ReconcileQueuePort, timings?: SyncTimings): ReconcileDeps {
  const base = runtime.reconcileDeps({ queue });
  if (!timings) return { ...base, events: NO_EVENTS };
  const inApply = () => timings.applyStartedAt !== undefined;
  const timed = async <T>(work: Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work;
    } finally {
      const elapsed = performance.now() - started;
      if (inApply()) timings.applyDynamoMs += elapsed;
      else timings.scanDynamoMs += elapsed;
    }
  };
  const { ledger, runs, users } = base;
  const timedLedger: LedgerPort = {
    getMany: (tenantId, ids) => timed(ledger.getMany(tenantId, ids)),
    putMany: (tenantId, entries) => timed(ledger.putMany(tenantId, entries)),
    unseenBefore: (tenantId, cutoff) => {
      timings.scanEndedAt ??= performance.now();
      return ledger.unseenBefore(tenantId, cutoff);
    },
    markGone: (tenantId, id, at) => timed(ledger.markGone(tenantId, id, at)),
    all: (tenantId) => ledger.all(tenantId),
  };
  const timedRuns: RunPort = {
    acquireLease: (...args) => runs.acquireLease(...args),
    releaseLease: (...args) => runs.releaseLease(...args),
    create: (record) => runs.create(record),
    get: (...args) => runs.get(...args),
    save: (...args) => runs.save(...args),
    addPending: (tenantId, pending) => timed(runs.addPending(tenantId, pending)),
    pending: (tenantId) => {
      timings.applyStartedAt ??= performance.now();
      return runs.pending(tenantId);
    },
    removePending: (tenantId, ids) => timed(runs.removePending(tenantId, ids)),
  };
  const timedUsers: UserDirectory = {
    listPages: (arn, options) => timedPages(users.listPages(arn, options), timings),
    describe: (arn) => users.describe(arn),
    putExpiration: (arn, days) => users.putExpiration(arn, days),
    listAdmins: (arn) => users.listAdmins(arn),
  };
  return { ...base, events: NO_EVENTS, ledger: timedLedger, runs: timedRuns, users: timedUsers };
}

async function* timedPages<T>(source: AsyncIterable<T>, timings: SyncTimings): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const started = performance.now();
      const next = await iterator.next();
      timings.listMs += performance.now() - started;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // The scan stops early at a checkpoint: let the paginator finish too.
    await iterator.return?.();
  }
}
