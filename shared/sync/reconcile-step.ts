import type { ContinueMessage, ReconcileMessage, StartMessage } from '../contracts/reconcile-messages';
import { emptyCounters, type RunCounters, type RunRecord } from '../contracts/run';
import type { StoredPolicy } from '../contracts/stored-policy';
import { isRetryable, safeErrorText } from '../errors';
import { type CompiledPolicy, compilePolicy, evaluateSafety, unseenByRun } from '../policy';
import { applyPending } from './apply-phase';
import { announceEndingExemptions } from './exemption-notices';
import { type PageFacts, readPageFacts } from './ledger-facts';
import { scanPages } from './pages';
import { reconcilePage } from './reconcile-page';
import { continuation, finishRun, newRunId, saveCheckpoint } from './run-lifecycle';
import { outOfTime, type ReconcileDeps } from './settings';
import { publishDigest, usesInactiveDays } from './warnings';

/**
 * What happens after one step of a run (controller-runtime's Result, for a queue):
 * - `checkpoint`: progress is saved and the continuation is on its way: the run goes on from there;
 * - `done`: nothing more for this message: the run completed or failed (`run`), or there was nothing to do
 *   (`skipped` says why: a duplicate delivery, a disabled policy, a run already going);
 * - `held`: the run stopped with shortening changes waiting for an operator;
 * - `retryAfter`: the step failed in a way worth repeating; nothing of it was saved, and the same message
 *   comes back from the same checkpoint after the backoff its queue driver owns. When the driver has no
 *   attempt left it calls `retriesExhausted`, which fails the run;
 * - `terminal`: the step failed in a way no retry mends (a Chime 400 or 403, a full AppInstance): the run
 *   is saved failed at once and the message is done.
 * The step never knows which delivery of its message it is.
 */
export type StepResult =
  | { readonly kind: 'checkpoint'; readonly run: RunRecord }
  | { readonly kind: 'done'; readonly run: RunRecord | null; readonly skipped?: string }
  | { readonly kind: 'held'; readonly run: RunRecord }
  | { readonly kind: 'retryAfter'; readonly error: unknown }
  | { readonly kind: 'terminal'; readonly run: RunRecord; readonly error: unknown };

const skipped = (reason: string): StepResult => ({ kind: 'done', run: null, skipped: reason });

/**
 * Runs one step of a tenant's run. A run pages through ListAppInstanceUsers, decides every user with the
 * policy engine, writes only drift, and checkpoints (run record + continuation message) before the
 * invocation runs out of time. Shortening changes are collected during the scan and applied at the end only
 * when the policy's safety caps allow (or an operator approved them). Every branch is safe under
 * at-least-once delivery: a step makes progress once, whatever number of times its message arrives.
 */
export async function reconcileStep(message: ReconcileMessage, deps: ReconcileDeps): Promise<StepResult> {
  return message.kind === 'start' ? startRun(message, deps) : continueRun(message, deps);
}

async function startRun(message: StartMessage, deps: ReconcileDeps): Promise<StepResult> {
  const { tenantId } = message;
  const stored = await deps.policies.get(tenantId);
  if (!stored) return skipped('no policy stored for this tenant');
  if (!stored.policy.enabled) return skipped('policy disabled');
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
    return skipped(`run ${lease.holder ?? '(unknown)'} is still going`);
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
  return { kind: 'checkpoint', run: record };
}

async function continueRun(message: ContinueMessage, deps: ReconcileDeps): Promise<StepResult> {
  const { tenantId, runId } = message;
  const record = await deps.runs.get(tenantId, runId);
  if (!record) return skipped(`run ${runId} does not exist`);
  if (record.state !== 'running') return skipped(`run ${runId} is ${record.state}`);
  if (record.step !== message.step) {
    if (record.step === message.step + 1) {
      // The previous invocation saved step+1 but its continuation message may not have been sent (it failed
      // after saving, so SQS redelivered its message). Sending it again is safe: the conditional save lets
      // only one invocation of a step make progress.
      await deps.queue.send([continuation(record)]);
      return skipped(`step ${message.step} already done; continuation re-sent`);
    }
    return skipped(`duplicate delivery of step ${message.step} (run is at ${record.step})`);
  }
  const lease = await deps.runs.acquireLease(tenantId, runId, deps.now(), deps.settings.leaseMs);
  if (!lease.acquired) {
    const reason = `lease lost to run ${lease.holder ?? '(unknown)'}`;
    return ended(await finishRun(record, 'failed', reason, deps, { releaseLease: false }));
  }
  const stored = await deps.policies.get(tenantId);
  if (!stored?.policy.enabled) {
    return ended(await finishRun(record, 'failed', 'policy removed or disabled during the run', deps));
  }
  const counters: RunCounters = { ...emptyCounters(), ...record.counters };
  try {
    return await work(record, stored, counters, deps);
  } catch (error) {
    return failed(record, counters, error, deps);
  }
}

function ended(run: RunRecord): StepResult {
  return run.state === 'held' ? { kind: 'held', run } : { kind: 'done', run };
}

async function work(
  record: RunRecord,
  stored: StoredPolicy,
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<StepResult> {
  if (record.phase === 'apply') return apply(record, stored, counters, deps);
  const compiled = compilePolicy(stored.policy);
  const readsActivity = deps.activity !== undefined && usesInactiveDays(compiled);
  const admins = await listAdmins(stored, compiled, counters, deps);
  const facts = { ledger: deps.ledger, activity: readsActivity ? deps.activity : undefined };
  const scan = await scanPages<PageFacts>(
    deps.users.listPages(stored.policy.appInstanceArn, record.cursor ? { startToken: record.cursor } : {}),
    {
      prefetch: (page) => readPageFacts(page, record.tenantId, facts),
      work: (page, { known, activity }) => {
        counters.pages++;
        counters.chimeCalls++;
        return reconcilePage(page, known, { record, stored, compiled, admins }, counters, deps, activity);
      },
      stopAfter: (pages) => outOfTime(deps, pages),
    },
  );
  if (scan.checkpoint) return checkpoint(record, { cursor: scan.cursor, phase: 'scan' }, counters, deps);
  return endOfScan(record, stored, counters, deps);
}

/**
 * The AppInstance's admins, listed once per invocation of the scan (a page of 50 per call: one call for
 * nearly every AppInstance), so a user promoted since the last invocation is protected from its next page on.
 * A policy with `protectAdmins: false` makes no call.
 */
export async function listAdmins(
  stored: StoredPolicy,
  compiled: CompiledPolicy,
  counters: RunCounters,
  deps: Pick<ReconcileDeps, 'users'>,
): Promise<ReadonlySet<string> | undefined> {
  if (!compiled.protectAdmins) return undefined;
  const admins = await deps.users.listAdmins(stored.policy.appInstanceArn);
  counters.chimeCalls += Math.max(1, Math.ceil(admins.size / ADMINS_PER_PAGE));
  return admins;
}

const ADMINS_PER_PAGE = 50;

async function endOfScan(
  record: RunRecord,
  stored: StoredPolicy,
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<StepResult> {
  const startedAt = Date.parse(record.startedAt);
  const now = deps.now();
  if (deps.notices && stored.policy.exemptions.length > 0) {
    await announceEndingExemptions(stored, now, { notices: deps.notices, events: deps.events });
  }
  const cutoff = startedAt - deps.settings.seenRefreshMs;
  for await (const entry of deps.ledger.unseenBefore(record.tenantId, cutoff)) {
    if (!unseenByRun(entry, startedAt, deps.settings.seenRefreshMs)) continue;
    await deps.ledger.markGone(record.tenantId, entry.appInstanceUserId, now);
    counters.gone++;
  }
  await publishDigest(record, compilePolicy(stored.policy).horizons, deps);
  // Shortening changes written during the scan (the caps could not hold) are not waiting for a verdict.
  if (counters.shortening === counters.shorteningApplied) {
    return ended(await finishRun({ ...record, counters }, 'completed', undefined, deps));
  }
  const verdict = evaluateSafety(stored.policy.safety, {
    usersScanned: counters.scanned,
    shorteningChanges: counters.shortening,
  });
  if (verdict.hold && !record.approveShortening) {
    counters.held = counters.shortening;
    return ended(await finishRun({ ...record, counters }, 'held', verdict.reasons.join('; '), deps));
  }
  return apply({ ...record, phase: 'apply', cursor: undefined }, stored, counters, deps);
}

async function apply(
  record: RunRecord,
  stored: StoredPolicy,
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<StepResult> {
  if ((await applyPending(record, stored, counters, deps)) === 'checkpoint') {
    return checkpoint(record, { cursor: undefined, phase: 'apply' }, counters, deps);
  }
  return ended(await finishRun({ ...record, counters }, 'completed', undefined, deps));
}

async function checkpoint(
  record: RunRecord,
  position: { readonly cursor: string | undefined; readonly phase: 'scan' | 'apply' },
  counters: RunCounters,
  deps: ReconcileDeps,
): Promise<StepResult> {
  const next = await saveCheckpoint(record, position, counters, deps);
  if (!next) return skipped(`step ${record.step} was completed by another delivery`);
  return { kind: 'checkpoint', run: next };
}

/**
 * A step failed. Retryable: nothing of this invocation is saved and the same step comes back (the writes
 * it did make are idempotent PUTs). Terminal: the run is marked failed at once.
 */
async function failed(
  record: RunRecord,
  counters: RunCounters,
  error: unknown,
  deps: ReconcileDeps,
): Promise<StepResult> {
  const ids = { tenantId: record.tenantId, runId: record.runId, step: record.step };
  if (isRetryable(error)) {
    deps.log.warn('run step failed, to be retried', { ...ids, error: safeErrorText(error) });
    return { kind: 'retryAfter', error };
  }
  deps.log.error('run failed', { ...ids, error: safeErrorText(error) });
  const run = await finishRun({ ...record, counters }, 'failed', safeErrorText(error), deps);
  return { kind: 'terminal', run, error };
}

/**
 * What retries running out means for a run: the step of `message` failed on its last delivery (or in pull
 * mode, where every attempt is the last), so the run is saved failed with the last error, from its last
 * checkpoint, and its lease released; the queue driver dead-letters the message so that an operator sees it.
 * Null when there is no run to fail: a start message (its run, if it made one, still waits at step 0 for a
 * later start to hand it over), or a run that moved on or ended meanwhile.
 */
export async function retriesExhausted(
  message: ReconcileMessage,
  error: unknown,
  deps: ReconcileDeps,
): Promise<RunRecord | null> {
  if (message.kind !== 'continue') return null;
  const record = await deps.runs.get(message.tenantId, message.runId);
  if (record?.state !== 'running' || record.step !== message.step) return null;
  deps.log.error('run failed: its retries ran out', {
    tenantId: record.tenantId,
    runId: record.runId,
    step: record.step,
    error: safeErrorText(error),
  });
  return finishRun(record, 'failed', safeErrorText(error), deps);
}
