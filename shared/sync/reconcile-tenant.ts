import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { isRetryable, safeErrorText } from '../errors';
import {
  type CompiledPolicy,
  compilePolicy,
  DAY_MS,
  decide,
  evaluateSafety,
  resolveExpiration,
} from '../policy';
import type { ContinueMessage, ReconcileMessage, StartMessage } from './messages';
import {
  type EventSink,
  emptyCounters,
  type LedgerEntry,
  type LedgerPort,
  type LifecycleEvent,
  type ListedUser,
  type Log,
  type PendingShortening,
  type PolicySource,
  type ReconcileQueuePort,
  type RunCounters,
  type RunPort,
  type RunRecord,
  type RunState,
  type StoredPolicy,
  type UserDirectory,
  type UserPage,
} from './ports';

export interface ReconcileSettings {
  /** How long a ledger entry is trusted before the user is described again; spread per user over [½, 1]×. */
  readonly verifyIntervalMs: number;
  /** A run's lease; renewed by every invocation, so it only has to outlive one invocation. */
  readonly leaseMs: number;
  readonly describeConcurrency: number;
  readonly writeConcurrency: number;
  /**
   * A ledger entry that did not change is rewritten (to record that the user was seen) only when its last
   * sighting is older than this, so a steady-state sync writes next to nothing to DynamoDB. Users Chime no
   * longer has are marked gone once their last sighting is older than this (0: every run, at once).
   */
  readonly seenRefreshMs: number;
  /** Checkpoint and continue when less than this much invocation time is left. */
  readonly safetyMarginMs: number;
  /** Checkpoint after this many pages even with time left (tests, and to bound one invocation's work). */
  readonly maxPagesPerInvocation: number;
}

export const DEFAULT_RECONCILE_SETTINGS: ReconcileSettings = {
  verifyIntervalMs: 30 * DAY_MS,
  seenRefreshMs: DAY_MS,
  leaseMs: 20 * 60_000,
  describeConcurrency: 16,
  writeConcurrency: 8,
  safetyMarginMs: 60_000,
  maxPagesPerInvocation: Number.POSITIVE_INFINITY,
};

export interface ReconcileDeps {
  readonly policies: PolicySource;
  readonly users: UserDirectory;
  readonly ledger: LedgerPort;
  readonly runs: RunPort;
  readonly events: EventSink;
  readonly queue: ReconcileQueuePort;
  readonly log: Log;
  readonly now: () => number;
  /** Time left in this invocation (Lambda's getRemainingTimeInMillis; Infinity in pull mode). */
  readonly remainingTimeMs: () => number;
  /** True when a retryable failure will not be retried again (the message's last receive, or pull mode). */
  readonly finalAttempt: boolean;
  readonly settings: ReconcileSettings;
}

export type ReconcileOutcome =
  | { readonly status: 'skipped'; readonly tenantId: string; readonly reason: string }
  | { readonly status: 'continued'; readonly run: RunRecord }
  | {
      readonly status: 'finished';
      readonly run: RunRecord;
      /** The run failed on a retryable error at its last attempt: the caller lets the message dead-letter. */
      readonly exhaustedRetries?: boolean;
    };

/** Run ids sort by start time (to the millisecond), so the run records of a tenant list in order. */
export function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/**
 * Reconciles one tenant: one invocation's share of a run. A run pages through ListAppInstanceUsers, decides
 * every user with the policy engine, writes only drift, and checkpoints (run record + continuation message)
 * before the invocation runs out of time. Shortening changes are collected during the scan and applied at
 * the end only when the policy's safety caps allow (or an operator approved them).
 */
export async function reconcileTenant(
  message: ReconcileMessage,
  deps: ReconcileDeps,
): Promise<ReconcileOutcome> {
  return message.kind === 'start' ? startRun(message, deps) : continueRun(message, deps);
}

async function startRun(message: StartMessage, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  const { tenantId } = message;
  const stored = await deps.policies.get(tenantId);
  if (!stored) return { status: 'skipped', tenantId, reason: 'no policy stored for this tenant' };
  if (!stored.policy.enabled) return { status: 'skipped', tenantId, reason: 'policy disabled' };
  const now = deps.now();
  const runId = newRunId(now);
  const lease = await deps.runs.acquireLease(tenantId, runId, now, deps.settings.leaseMs);
  if (!lease.acquired) {
    const holder = lease.holder ? await deps.runs.get(tenantId, lease.holder) : null;
    if (holder?.state === 'running' && holder.step === 0) {
      // A run that was created but never got going: this start's first delivery created it and failed to
      // hand over (or its hand-over is still queued). Handing over again is safe: a step runs once.
      await deps.queue.send([continuation(holder)]);
    }
    deps.log.info('run skipped: another run of this tenant is still going', {
      tenantId,
      holder: lease.holder,
    });
    return { status: 'skipped', tenantId, reason: `run ${lease.holder ?? '(unknown)'} is still going` };
  }
  const iso = new Date(now).toISOString();
  const record: RunRecord = {
    tenantId,
    runId,
    state: 'running',
    trigger: message.trigger,
    policyVersion: stored.version,
    step: 0,
    phase: 'scan',
    approveShortening: message.approveShortening ?? false,
    startedAt: iso,
    updatedAt: iso,
    counters: emptyCounters(),
  };
  await deps.runs.create(record);
  deps.log.info('run started', { tenantId, runId, trigger: message.trigger, policyVersion: stored.version });
  // The work itself happens in continuation messages, from step 0: a failing step is then retried as the
  // same run (same run id, same checkpoint) by SQS's redelivery, with backoff, up to the DLQ.
  await deps.queue.send([continuation(record)]);
  return { status: 'continued', run: record };
}

async function continueRun(message: ContinueMessage, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  const { tenantId, runId } = message;
  const record = await deps.runs.get(tenantId, runId);
  if (!record) return { status: 'skipped', tenantId, reason: `run ${runId} does not exist` };
  if (record.state !== 'running')
    return { status: 'skipped', tenantId, reason: `run ${runId} is ${record.state}` };
  if (record.step !== message.step) {
    if (record.step === message.step + 1) {
      // The previous invocation saved step+1 but its continuation message may not have been sent (it failed
      // after saving, so SQS redelivered its message). Sending it again is safe: the conditional save lets
      // only one invocation of a step make progress.
      await deps.queue.send([continuation(record)]);
      return {
        status: 'skipped',
        tenantId,
        reason: `step ${message.step} already done; continuation re-sent`,
      };
    }
    return {
      status: 'skipped',
      tenantId,
      reason: `duplicate delivery of step ${message.step} (run is at ${record.step})`,
    };
  }
  const lease = await deps.runs.acquireLease(tenantId, runId, deps.now(), deps.settings.leaseMs);
  if (!lease.acquired) {
    const failed = await finish(
      record,
      'failed',
      `lease lost to run ${lease.holder ?? '(unknown)'}`,
      deps,
      false,
    );
    return { status: 'finished', run: failed };
  }
  const stored = await deps.policies.get(tenantId);
  if (!stored?.policy.enabled) {
    const failed = await finish(record, 'failed', 'policy removed or disabled during the run', deps);
    return { status: 'finished', run: failed };
  }
  return work(record, stored, deps);
}

async function work(record: RunRecord, stored: StoredPolicy, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  const compiled = compilePolicy(stored.policy);
  const counters: RunCounters = { ...record.counters };
  try {
    if (record.phase === 'scan') {
      const scan = await scanPages(record, stored, compiled, counters, deps);
      if (scan.checkpoint) return checkpoint(record, { cursor: scan.cursor, phase: 'scan' }, counters, deps);
      return await endOfScan(record, stored, counters, deps);
    }
    return await applyPhase(record, stored, counters, deps);
  } catch (error) {
    const retryable = isRetryable(error);
    if (retryable && !deps.finalAttempt) {
      // Nothing of this invocation is saved; the same step is retried from its checkpoint (the writes it did
      // make are idempotent PUTs).
      deps.log.warn('run step failed, will be retried', {
        tenantId: record.tenantId,
        runId: record.runId,
        error: safeErrorText(error),
      });
      throw error;
    }
    deps.log.error('run failed', {
      tenantId: record.tenantId,
      runId: record.runId,
      error: safeErrorText(error),
    });
    const failed = await finish({ ...record, counters }, 'failed', safeErrorText(error), deps);
    return { status: 'finished', run: failed, ...(retryable ? { exhaustedRetries: true } : {}) };
  }
}

interface ScanResult {
  readonly checkpoint: boolean;
  readonly cursor: string | undefined;
}

/** A page of users together with what the ledger knows of them, fetched ahead of its turn. */
interface PrefetchedPage {
  readonly page: UserPage;
  readonly known: Promise<Map<string, LedgerEntry>>;
}

/**
 * Pages through the users as a pipeline, because at scale the Chime quota, not our own round trips, must be
 * the bound: the next list call starts as soon as a page arrives, its ledger read runs beside the current
 * page's Chime calls, and a page's DynamoDB writes (ledger, pending changes, events) finish in the
 * background while later pages are worked. Everything in flight is awaited before a checkpoint, so a saved
 * cursor never runs ahead of the work it stands for.
 */
async function scanPages(
  record: RunRecord,
  stored: StoredPolicy,
  compiled: CompiledPolicy,
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<ScanResult> {
  let pagesThisInvocation = 0;
  const pages = deps.users
    .listPages(stored.policy.appInstanceArn, record.cursor ? { startToken: record.cursor } : {})
    [Symbol.asyncIterator]();
  const fetchPage = async (): Promise<PrefetchedPage | null> => {
    const next = await pages.next();
    if (next.done) return null;
    const known = deps.ledger.getMany(
      record.tenantId,
      next.value.users.map((user) => user.appInstanceUserId),
    );
    // Awaited when the page's turn comes; until then a failure must not count as unhandled.
    known.catch(() => undefined);
    return { page: next.value, known };
  };
  const writes = new BackgroundWrites(PAGES_OF_WRITES_IN_FLIGHT);
  // The next page, already on its way. It may fail while the current page is being worked: it is marked
  // handled at once and its error surfaces when it is awaited.
  const prefetch = () => {
    const promise = fetchPage();
    promise.catch(() => undefined);
    return promise;
  };
  let upcoming: Promise<PrefetchedPage | null> | undefined;
  try {
    upcoming = prefetch();
    for (;;) {
      const current = await upcoming;
      upcoming = undefined;
      if (!current) break;
      const { page } = current;
      counters.pages++;
      counters.chimeCalls++;
      pagesThisInvocation++;
      const last = page.nextToken === undefined;
      const stop = !last && outOfTime(deps, pagesThisInvocation);
      if (!last && !stop) upcoming = prefetch();
      const persist = await processPage(
        { page, known: await current.known },
        record,
        stored,
        compiled,
        counters,
        deps,
      );
      await writes.add(persist);
      if (last) break;
      if (stop) {
        await writes.drain();
        return { checkpoint: true, cursor: page.nextToken };
      }
    }
    await writes.drain();
    return { checkpoint: false, cursor: undefined };
  } finally {
    // On an error, let the prefetch settle (its failure is already reported by the error in hand), stop the
    // paginator, and wait for the writes so none outlives the invocation.
    await upcoming?.catch(() => undefined);
    await pages.return?.();
    await writes.settle();
  }
}

/** How many pages' DynamoDB writes may still be in flight while later pages are worked. */
const PAGES_OF_WRITES_IN_FLIGHT = 4;

/** A small bounded set of background writes whose first failure is rethrown at the next add or drain. */
class BackgroundWrites {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async add(write: () => Promise<void>): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const promise: Promise<void> = write()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(promise));
    this.inFlight.add(promise);
  }

  async drain(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

/**
 * Shortening changes wait for the end of the scan only when the policy's caps could hold the run; when they
 * cannot (no percentage cap, and a count cap no AppInstance can reach) or an operator approved them, they are
 * written as they are found, like any other change.
 */
function shorteningCanBeHeld(record: RunRecord, stored: StoredPolicy): boolean {
  if (record.approveShortening) return false;
  const { maxShorteningPercent, maxShorteningChanges } = stored.policy.safety;
  return maxShorteningPercent < 100 || maxShorteningChanges < MAX_USERS_PER_APP_INSTANCE;
}

/** Chime's default quota of AppInstanceUsers per AppInstance. */
export const MAX_USERS_PER_APP_INSTANCE = 100_000;

function outOfTime(deps: ReconcileDeps, pagesThisInvocation: number): boolean {
  return (
    pagesThisInvocation >= deps.settings.maxPagesPerInvocation ||
    deps.remainingTimeMs() < deps.settings.safetyMarginMs
  );
}

/** Deterministic per-user spread in [0.5, 1) so re-verification of a large tenant does not all fall due at once. */
function verificationSpread(userId: string): number {
  let hash = 2166136261;
  for (let index = 0; index < userId.length; index++) {
    hash = Math.imul(hash ^ userId.charCodeAt(index), 16777619);
  }
  return 0.5 + ((hash >>> 0) % 10_000) / 20_000;
}

/** Whether the facts of a ledger entry differ (the sighting fields aside). */
function ledgerEntryChanged(previous: LedgerEntry, next: LedgerEntry): boolean {
  return (
    previous.createdAt !== next.createdAt ||
    previous.expirationDays !== next.expirationDays ||
    previous.verifiedAt !== next.verifiedAt ||
    previous.appliedPolicyVersion !== next.appliedPolicyVersion ||
    previous.appliedRuleId !== next.appliedRuleId ||
    previous.goneAt !== next.goneAt
  );
}

function sightingStale(entry: LedgerEntry, now: number, refreshMs: number): boolean {
  return entry.lastSeenAt === undefined || now - entry.lastSeenAt >= refreshMs;
}

function dueForVerification(entry: LedgerEntry, now: number, intervalMs: number): boolean {
  return now - entry.verifiedAt >= intervalMs * verificationSpread(entry.appInstanceUserId);
}

/**
 * Decides every user of a page and makes its Chime calls; returns the page's DynamoDB writes for the caller
 * to run in the background.
 */
async function processPage(
  { page, known }: { readonly page: UserPage; readonly known: Map<string, LedgerEntry> },
  record: RunRecord,
  stored: StoredPolicy,
  compiled: CompiledPolicy,
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<() => Promise<void>> {
  const { tenantId, runId } = record;
  const now = deps.now();
  const holdShortening = shorteningCanBeHeld(record, stored);
  const describeLimit = pLimit(deps.settings.describeConcurrency);
  const writeLimit = pLimit(deps.settings.writeConcurrency);
  const entries: LedgerEntry[] = [];
  const pending: PendingShortening[] = [];
  const rescues: LifecycleEvent[] = [];
  /** Records what the ledger should say of a user; writes it only when that changed or the sighting is stale. */
  const remember = (previous: LedgerEntry | undefined, next: LedgerEntry) => {
    if (
      previous &&
      !ledgerEntryChanged(previous, next) &&
      !sightingStale(previous, now, deps.settings.seenRefreshMs)
    ) {
      return;
    }
    entries.push({ ...next, lastSeenAt: now, lastSeenRunId: runId });
  };

  const reconcileUser = async (user: ListedUser): Promise<void> => {
    counters.scanned++;
    const resolved = resolveExpiration(compiled, user);
    const entry = known.get(user.appInstanceUserId);
    if (resolved.expiration === 'unmanaged') {
      counters.unmanaged++;
      if (entry) remember(entry, entry);
      return;
    }
    let current: { createdAt: number; expirationDays: number | undefined };
    let verifiedAt: number;
    if (
      !entry ||
      entry.goneAt !== undefined ||
      dueForVerification(entry, now, deps.settings.verifyIntervalMs)
    ) {
      const described = await describeLimit(() => deps.users.describe(user.arn));
      counters.described++;
      counters.chimeCalls++;
      if (!described) {
        // Listed a moment ago, gone now: Chime's expiry sweeper or someone else deleted it.
        counters.gone++;
        if (entry) entries.push({ ...entry, goneAt: now });
        return;
      }
      current = described;
      verifiedAt = now;
    } else {
      current = { createdAt: entry.createdAt, expirationDays: entry.expirationDays ?? undefined };
      verifiedAt = entry.verifiedAt;
    }
    const decision = decide(compiled, user, current, now);
    let expirationDays = current.expirationDays ?? null;
    if (decision.floored) counters.floored++;
    if (!decision.changes) {
      counters.unchanged++;
    } else if (decision.shortens && holdShortening) {
      counters.shortening++;
      pending.push({
        appInstanceUserId: user.appInstanceUserId,
        userArn: user.arn,
        runId,
        desiredDays: decision.desired.kind === 'set' ? decision.desired.days : null,
        ruleId: decision.ruleId,
      });
    } else {
      const days = decision.desired.kind === 'set' ? decision.desired.days : null;
      await writeLimit(() => deps.users.putExpiration(user.arn, days));
      counters.chimeCalls++;
      if (days === null) counters.removed++;
      else counters.set++;
      if (decision.shortens) {
        counters.shortening++;
        counters.shorteningApplied++;
      }
      expirationDays = days;
      if (decision.rescue) {
        counters.rescued++;
        rescues.push({
          type: 'User Rescued',
          detail: {
            tenantId,
            runId,
            appInstanceUserArn: user.arn,
            ruleId: decision.ruleId,
            expirationDays: days,
          },
        });
      }
    }
    remember(entry, {
      appInstanceUserId: user.appInstanceUserId,
      createdAt: current.createdAt,
      expirationDays,
      verifiedAt,
      appliedPolicyVersion:
        decision.changes && !(decision.shortens && holdShortening)
          ? stored.version
          : entry?.appliedPolicyVersion,
      appliedRuleId: decision.ruleId ?? undefined,
    });
  };

  await Promise.all(page.users.map(reconcileUser));
  return async () => {
    await Promise.all([
      deps.ledger.putMany(tenantId, entries),
      pending.length > 0 ? deps.runs.addPending(tenantId, pending) : undefined,
      rescues.length > 0 ? deps.events.publish(rescues) : undefined,
    ]);
  };
}

async function endOfScan(
  record: RunRecord,
  stored: StoredPolicy,
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<ReconcileOutcome> {
  const startedAt = Date.parse(record.startedAt);
  const now = deps.now();
  // Every user this run saw was either rewritten now or last seen less than seenRefreshMs before it was
  // seen: an entry whose last sighting (or verification, for entries onboarding wrote) is older than that
  // was not listed by this run, so Chime no longer has the user.
  const cutoff = startedAt - deps.settings.seenRefreshMs;
  for await (const entry of deps.ledger.unseenBefore(record.tenantId, cutoff)) {
    if (Math.max(entry.lastSeenAt ?? 0, entry.verifiedAt) >= cutoff) continue;
    await deps.ledger.markGone(record.tenantId, entry.appInstanceUserId, now);
    counters.gone++;
  }
  // Shortening changes written during the scan (the caps could not hold) are not waiting for a verdict.
  if (counters.shortening === counters.shorteningApplied) {
    const done = await finish({ ...record, counters }, 'completed', undefined, deps);
    return { status: 'finished', run: done };
  }
  const verdict = evaluateSafety(stored.policy.safety, {
    usersScanned: counters.scanned,
    shorteningChanges: counters.shortening,
  });
  if (verdict.hold && !record.approveShortening) {
    counters.held = counters.shortening;
    const held = await finish({ ...record, counters }, 'held', verdict.reasons.join('; '), deps);
    return { status: 'finished', run: held };
  }

  return applyPhase({ ...record, phase: 'apply', cursor: undefined }, stored, counters, deps);
}

/** Applies the run's pending shortening changes (the caps allowed them, or an operator approved them). */
async function applyPhase(
  record: RunRecord,
  stored: StoredPolicy,
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<ReconcileOutcome> {
  const writeLimit = pLimit(deps.settings.writeConcurrency);
  const writes = new BackgroundWrites(PAGES_OF_WRITES_IN_FLIGHT);
  let batches = 0;
  const applyBatch = async (batch: PendingShortening[]) => {
    const [known] = await Promise.all([
      deps.ledger.getMany(
        record.tenantId,
        batch.map((item) => item.appInstanceUserId),
      ),
      Promise.all(
        batch.map((item) =>
          writeLimit(async () => {
            await deps.users.putExpiration(item.userArn, item.desiredDays);
            counters.chimeCalls++;
            counters.shorteningApplied++;
            if (item.desiredDays === null) counters.removed++;
            else counters.set++;
          }),
        ),
      ),
    ]);
    const entries = batch.flatMap((item) => {
      const entry = known.get(item.appInstanceUserId);
      return entry
        ? [
            {
              ...entry,
              expirationDays: item.desiredDays,
              appliedPolicyVersion: stored.version,
              appliedRuleId: item.ruleId ?? undefined,
            },
          ]
        : [];
    });
    await writes.add(async () => {
      await deps.ledger.putMany(record.tenantId, entries);
      await deps.runs.removePending(
        record.tenantId,
        batch.map((item) => item.appInstanceUserId),
      );
    });
    batches++;
  };
  let batch: PendingShortening[] = [];
  const stale: string[] = [];
  try {
    for await (const item of deps.runs.pending(record.tenantId)) {
      if (item.runId !== record.runId) {
        // Left by an earlier run that was held or failed: this run decided those users afresh.
        stale.push(item.appInstanceUserId);
        continue;
      }
      batch.push(item);
      if (batch.length >= 50) {
        await applyBatch(batch);
        batch = [];
        if (outOfTime(deps, batches)) {
          await writes.drain();
          return checkpoint(record, { cursor: undefined, phase: 'apply' }, counters, deps);
        }
      }
    }
    if (batch.length > 0) await applyBatch(batch);
    if (stale.length > 0) await writes.add(() => deps.runs.removePending(record.tenantId, stale));
    await writes.drain();
  } finally {
    await writes.settle();
  }
  const done = await finish({ ...record, counters }, 'completed', undefined, deps);
  return { status: 'finished', run: done };
}

async function checkpoint(
  record: RunRecord,
  position: { cursor: string | undefined; phase: 'scan' | 'apply' },
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<ReconcileOutcome> {
  const next: RunRecord = {
    ...record,
    step: record.step + 1,
    phase: position.phase,
    cursor: position.cursor,
    counters,
    updatedAt: new Date(deps.now()).toISOString(),
  };
  if (!(await deps.runs.save(next, record.step))) {
    return {
      status: 'skipped',
      tenantId: record.tenantId,
      reason: `step ${record.step} was completed by another delivery`,
    };
  }
  await deps.queue.send([continuation(next)]);
  deps.log.info('run continues in a new invocation', {
    tenantId: record.tenantId,
    runId: record.runId,
    step: next.step,
    counters,
  });
  return { status: 'continued', run: next };
}

function continuation(record: RunRecord): ContinueMessage {
  return {
    kind: 'continue',
    tenantId: record.tenantId,
    runId: record.runId,
    step: record.step,
    ...(record.cursor === undefined ? {} : { cursor: record.cursor }),
    counters: { ...record.counters },
  };
}

async function finish(
  record: RunRecord,
  state: Exclude<RunState, 'running'>,
  reason: string | undefined,
  deps: ReconcileDeps,
  releaseLease = true,
): Promise<RunRecord> {
  const now = new Date(deps.now()).toISOString();
  const final: RunRecord = {
    ...record,
    state,
    step: record.step + 1,
    cursor: undefined,
    updatedAt: now,
    finishedAt: now,
    ...(reason === undefined ? {} : { reason }),
  };
  const saved = await deps.runs.save(final, record.step);
  if (!saved) return final;
  if (releaseLease) await deps.runs.releaseLease(record.tenantId, record.runId);
  const detail = {
    tenantId: record.tenantId,
    runId: record.runId,
    state,
    policyVersion: record.policyVersion,
    counters: record.counters,
    ...(reason === undefined ? {} : { reason }),
  };
  const event: LifecycleEvent =
    state === 'held'
      ? { type: 'Tenant Run Held', detail: { ...detail, state } }
      : state === 'failed'
        ? { type: 'Tenant Run Failed', detail: { ...detail, state } }
        : { type: 'Tenant Run Completed', detail: { ...detail, state } };
  await deps.events.publish([event]);
  deps.log.info(`run ${state}`, detail);
  if (state !== 'failed') {
    // A policy put while this run was going could not start its own run (the lease refused it): run again.
    const latest = await deps.policies.get(record.tenantId);
    if (latest && latest.version > record.policyVersion && latest.policy.enabled) {
      await deps.queue.send([{ kind: 'start', tenantId: record.tenantId, trigger: 'follow-up' }]);
    }
  }
  return final;
}
