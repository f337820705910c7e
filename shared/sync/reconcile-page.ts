import pLimit from 'p-limit';
import type { LedgerEntry } from '../contracts/ledger';
import type { LifecycleEvent } from '../contracts/lifecycle-events';
import type { PendingShortening, RunCounters, RunRecord } from '../contracts/run';
import type { StoredPolicy } from '../contracts/stored-policy';
import { type CompiledPolicy, shorteningCanBeHeld, sightingStale } from '../policy';
import { assessUser, countChange } from './assess';
import { trustedLedgerFacts } from './ledger-facts';
import type { ListedUser, UserPage } from './ports';
import type { ReconcileDeps } from './settings';
import { userWarnings } from './warnings';

/** Whether the facts of a ledger entry differ (the sighting fields aside). */
function ledgerEntryChanged(previous: LedgerEntry, next: LedgerEntry): boolean {
  return (
    previous.createdAt !== next.createdAt ||
    previous.expirationDays !== next.expirationDays ||
    previous.verifiedAt !== next.verifiedAt ||
    previous.appliedPolicyVersion !== next.appliedPolicyVersion ||
    previous.appliedRuleId !== next.appliedRuleId ||
    previous.goneAt !== next.goneAt ||
    previous.warnedExpiresAt !== next.warnedExpiresAt ||
    previous.warnedHorizons?.join() !== next.warnedHorizons?.join()
  );
}

/**
 * Decides every user of a page and makes its Chime calls: Describe only for users the ledger does not know
 * or whose entry is due for verification, a write only for drift. Returns the page's DynamoDB writes (ledger,
 * pending shortening changes, rescue events) for the caller to run in the background.
 */
export async function reconcilePage(
  page: UserPage,
  known: Map<string, LedgerEntry>,
  run: {
    readonly record: RunRecord;
    readonly stored: StoredPolicy;
    readonly compiled: CompiledPolicy;
    /** The AppInstance's admins, listed once by this invocation. */
    readonly admins?: ReadonlySet<string> | undefined;
  },
  counters: RunCounters,
  deps: ReconcileDeps,
  /** Last activity of the page's users (epoch ms), for `inactiveDays` rules; empty when none applies. */
  activity: ReadonlyMap<string, number> = new Map(),
): Promise<() => Promise<void>> {
  const { record, stored, compiled } = run;
  const { tenantId, runId } = record;
  const now = deps.now();
  const holdShortening = shorteningCanBeHeld(stored.policy.safety, record.approveShortening);
  const describeLimit = pLimit(deps.settings.describeConcurrency);
  const writeLimit = pLimit(deps.settings.writeConcurrency);
  const entries: LedgerEntry[] = [];
  const pending: PendingShortening[] = [];
  const rescues: LifecycleEvent[] = [];
  const warnings: LifecycleEvent[] = [];
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
    const entry = known.get(user.appInstanceUserId);
    let verifiedAt = entry?.verifiedAt ?? now;
    const assessment = await assessUser(
      user,
      compiled,
      now,
      counters,
      async () => {
        const lastActiveAt = activity.get(user.appInstanceUserId);
        const trusted = trustedLedgerFacts(entry, now, deps.settings.verifyIntervalMs);
        if (trusted) return { ...trusted, lastActiveAt };
        const described = await describeLimit(() => deps.users.describe(user.arn));
        counters.described++;
        counters.chimeCalls++;
        verifiedAt = now;
        return described && { ...described, lastActiveAt };
      },
      run.admins,
    );
    if (assessment.kind === 'unmanaged' || assessment.kind === 'protected') {
      if (entry) remember(entry, entry);
      return;
    }
    if (assessment.kind === 'gone') {
      if (entry) entries.push({ ...entry, goneAt: now });
      return;
    }
    const { current, decision, desiredDays } = assessment;
    let expirationDays = current.expirationDays ?? null;
    const held = decision.changes && decision.shortens && holdShortening;
    if (held) {
      countChange(counters, { ...decision, desiredDays }, 'held');
      pending.push({
        appInstanceUserId: user.appInstanceUserId,
        userArn: user.arn,
        runId,
        desiredDays,
        ruleId: decision.ruleId,
      });
    } else if (decision.changes) {
      await writeLimit(() => deps.users.putExpiration(user.arn, desiredDays));
      counters.chimeCalls++;
      countChange(counters, { ...decision, desiredDays }, 'applied');
      expirationDays = desiredDays;
      if (decision.rescue) {
        rescues.push({
          type: 'User Rescued',
          detail: {
            tenantId,
            runId,
            appInstanceUserArn: user.arn,
            ruleId: decision.ruleId,
            expirationDays: desiredDays,
          },
        });
      }
    }
    const facts = { appInstanceUserId: user.appInstanceUserId, createdAt: current.createdAt, expirationDays };
    // From what is now known of the expiry (this write included): no Chime call of its own.
    const warned = userWarnings(tenantId, facts, entry, compiled, decision.ruleId, now);
    warnings.push(...warned.events);
    remember(entry, {
      ...facts,
      verifiedAt,
      appliedPolicyVersion: decision.changes && !held ? stored.version : entry?.appliedPolicyVersion,
      appliedRuleId: decision.ruleId ?? undefined,
      ...warned.fields,
    });
  };

  await Promise.all(page.users.map(reconcileUser));
  return async () => {
    // Events before the ledger that records them: a failure between the two repeats a warning at the next
    // sync rather than losing it.
    if (rescues.length > 0 || warnings.length > 0) await deps.events.publish([...rescues, ...warnings]);
    await Promise.all([
      deps.ledger.putMany(tenantId, entries),
      pending.length > 0 ? deps.runs.addPending(tenantId, pending) : undefined,
    ]);
  };
}
