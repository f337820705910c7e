import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import type { LedgerEntry } from '../contracts/ledger';
import type { EventSink } from '../contracts/lifecycle-events';
import type { StoredPolicy } from '../contracts/stored-policy';
import { LifecycleError, RetryableError, TerminalError } from '../errors';
import { compilePolicy } from '../policy';
import {
  checkAgainstPolicy,
  checkPlanFile,
  type PlanFile,
  type PlanFileChange,
  type PlanRefusalReason,
} from './plan-file';
import { type ChangeVerdict, verifyChange } from './plan-verify';
import type {
  ActivityPort,
  DescribedUser,
  IssuedPlan,
  IssuedPlanPort,
  LedgerPort,
  PolicySource,
  RunPort,
  UserDirectory,
} from './ports';
import { usesInactiveDays } from './warnings';

/** A plan refused as a whole, before anything was written; `reason` says why (plan-file.ts). */
export class PlanRefusedError extends TerminalError<PlanRefusalReason> {
  override name = 'PlanRefusedError';
}

/** Another run (or another apply) holds the tenant's run lease: nothing was done; try again when it ends. */
export class TenantBusyError extends RetryableError {
  override name = 'TenantBusyError';
  constructor(
    readonly tenantId: string,
    readonly holder: string | undefined,
  ) {
    super(
      `tenant ${tenantId} is busy: ${holder ?? 'another run'} holds its run lease (a plan is never applied while a run or another apply is going); nothing applied, try again when it ends`,
    );
  }
}

/** The apply stopped after it consumed the plan and wrote part of it (a Chime or DynamoDB failure). */
export class PlanPartlyAppliedError extends LifecycleError {
  override name = 'PlanPartlyAppliedError';
}

export interface AppliedPlanChange {
  readonly appInstanceUserId: string;
  readonly outcome: 'applied' | 'drifted' | 'gone' | 'protected' | 'changed';
  /** For `drifted`: the user's ExpirationDays now (null: none), where the plan expected `current`. */
  readonly found?: number | null;
  /** For `changed`: what moved since the plan. */
  readonly why?: string;
}

export interface PlanApplication {
  readonly tenantId: string;
  readonly sha256: string;
  readonly policyVersion: number;
  readonly applied: number;
  readonly skipped: number;
  readonly changes: readonly AppliedPlanChange[];
}

export interface ApplyPlanSettings {
  /** The run lease's length; renewed while the apply goes on (the reconcile runs' own, by default). */
  readonly leaseMs: number;
  readonly describeConcurrency: number;
  readonly writeConcurrency: number;
}

export interface ApplyPlanDeps {
  readonly policies: PolicySource;
  readonly users: Pick<UserDirectory, 'listAdmins' | 'putExpiration'> & {
    /** DescribeAppInstanceUser through the rate limiter; `metadata` feeds the rules that match on it. */
    describe(userArn: string): Promise<(DescribedUser & { readonly metadata?: string }) | null>;
    /** The ARN Chime gives a user of an AppInstance (no call). */
    userArn(appInstanceArn: string, appInstanceUserId: string): string;
  };
  readonly ledger: Pick<LedgerPort, 'getMany' | 'putMany'>;
  readonly activity?: ActivityPort | undefined;
  readonly runs: Pick<RunPort, 'acquireLease' | 'releaseLease' | 'removePending'>;
  readonly issued: IssuedPlanPort;
  readonly events: EventSink;
  readonly now: () => number;
  readonly settings: ApplyPlanSettings;
  /** Told of progress: the users verified (Describe) and then the changes written, of `total`. */
  readonly progress?: (phase: 'verify' | 'write', done: number, total: number) => void;
}

const refused = (reason: PlanRefusalReason, message: string) => new PlanRefusedError(reason, message);

/**
 * `sync --tenant T --apply plan.json`. Derives everything it writes; the file is only a claim:
 * 1. the file alone: size, shape, hash, tenant, validity (plan-file.ts checkPlanFile);
 * 2. the stored policy: its version, its AppInstance, every user ARN built from them (checkAgainstPolicy);
 * 3. the issued record: `plan --out` recorded this hash, for this content, and no apply consumed it yet;
 * 4. the tenant's run lease, so no reconcile run and no other apply overlaps this one;
 * 5. every change decided again by the engine from Chime's, the activity store's and the admin list's
 *    state now (plan-verify.ts): one change that is not what the policy decides refuses the whole plan;
 * 6. the record consumed with a conditional write (of two concurrent applies, one gets past it), and only
 *    then the writes, paced through the rate limiter with bounded concurrency.
 * Anything refused in 1-5 writes nothing. Applied users leave a held run's pending list (a held run is
 * released this way too); "Plan Applied" is published with the hash.
 */
export async function applyIssuedPlan(
  raw: unknown,
  tenantId: string,
  deps: ApplyPlanDeps,
): Promise<PlanApplication> {
  // The tenant first: a plan for a tenant that does not exist says so, whatever the file holds.
  const stored = await deps.policies.get(tenantId);
  if (!stored) throw refused('no-policy', `no policy is stored for tenant ${tenantId}; nothing applied`);
  const check = checkPlanFile(raw, { tenantId, now: deps.now() });
  if (!check.ok) throw refused(check.refusal.reason, check.refusal.message);
  const plan = check.plan;
  const mismatch = checkAgainstPolicy(
    plan,
    { version: stored.version, appInstanceArn: stored.policy.appInstanceArn },
    (appInstanceArn, userId) => deps.users.userArn(appInstanceArn, userId),
  );
  if (mismatch) throw refused(mismatch.reason, mismatch.message);
  await issuedRecord(plan, deps);
  const holder = `plan-${plan.sha256.slice(0, 12)}-${randomBytes(4).toString('hex')}`;
  const lease = new LeaseKeeper(tenantId, holder, deps);
  await lease.take();
  try {
    // Read again under the lease: an apply that finished while this one waited is seen here.
    await issuedRecord(plan, deps);
    const verdicts = await verifyAll(plan, stored, deps, lease);
    const wrong = verdicts.flatMap((verdict, index) =>
      verdict.kind === 'mismatch' ? [`${plan.changes[index]?.appInstanceUserId}: ${verdict.why}`] : [],
    );
    if (wrong.length > 0) {
      throw refused(
        'not-what-the-policy-decides',
        `${wrong.length} change(s) are not what policy version ${stored.version} decides for the user as it is now: ${wrong.slice(0, 3).join('; ')}${wrong.length > 3 ? '; …' : ''}. The plan was edited, or these users changed since (make a new plan); nothing applied`,
      );
    }
    if (!(await deps.issued.consume(tenantId, plan.sha256, deps.now()))) {
      throw alreadyApplied(await deps.issued.get(tenantId, plan.sha256), plan);
    }
    return await writeAll(plan, stored, verdicts, deps, lease);
  } finally {
    await lease.release();
  }
}

/** The issued record of the plan, checked against the file; throws when there is none to apply. */
async function issuedRecord(plan: PlanFile, deps: ApplyPlanDeps): Promise<IssuedPlan> {
  const record = await deps.issued.get(plan.tenantId, plan.sha256);
  if (
    !record ||
    record.policyVersion !== plan.policyVersion ||
    record.generatedAt !== plan.generatedAt ||
    record.expiresAt !== plan.expiresAt ||
    record.changes !== plan.changes.length
  ) {
    throw refused(
      'not-issued',
      `no plan with sha256 ${plan.sha256} was issued for tenant ${plan.tenantId} (only a file written by \`plan --out\` applies, unedited, until it expires); nothing applied`,
    );
  }
  if (record.state !== 'issued') throw alreadyApplied(record, plan);
  return record;
}

function alreadyApplied(record: IssuedPlan | null, plan: PlanFile): PlanRefusedError {
  const done = record?.state === 'applied';
  const detail = done
    ? ` at ${record.consumedAt} (applied ${record.applied ?? 0}, skipped ${record.skipped ?? 0})`
    : `: an apply consumed it${record?.consumedAt ? ` at ${record.consumedAt}` : ''} (it is still going, or it stopped midway)`;
  return refused(
    'already-applied',
    `plan ${plan.sha256} was already applied${detail}; a plan applies once. Nothing applied now`,
  );
}

/** Keeps the tenant's run lease while the apply goes on: renewed whenever a quarter of it has passed. */
class LeaseKeeper {
  #renewedAt = 0;
  constructor(
    private readonly tenantId: string,
    private readonly holder: string,
    private readonly deps: ApplyPlanDeps,
  ) {}

  async take(): Promise<void> {
    const now = this.deps.now();
    const lease = await this.deps.runs.acquireLease(
      this.tenantId,
      this.holder,
      now,
      this.deps.settings.leaseMs,
    );
    if (!lease.acquired) throw new TenantBusyError(this.tenantId, lease.holder);
    this.#renewedAt = now;
  }

  /** Renews the lease when due; throws when it was lost (it expired and a run took it). */
  async keep(): Promise<void> {
    if (this.deps.now() - this.#renewedAt < this.deps.settings.leaseMs / 4) return;
    await this.take();
  }

  async release(): Promise<void> {
    await this.deps.runs.releaseLease(this.tenantId, this.holder);
  }
}

async function verifyAll(
  plan: PlanFile,
  stored: StoredPolicy,
  deps: ApplyPlanDeps,
  lease: LeaseKeeper,
): Promise<ChangeVerdict[]> {
  const compiled = compilePolicy(stored.policy);
  const readsActivity = usesInactiveDays(compiled);
  if (readsActivity && !deps.activity) {
    throw new Error('applyIssuedPlan: the policy renews by activity, so deps.activity is required');
  }
  const ids = plan.changes.map((change) => change.appInstanceUserId);
  const [admins, activity] = await Promise.all([
    compiled.protectAdmins ? deps.users.listAdmins(stored.policy.appInstanceArn) : undefined,
    readsActivity && deps.activity
      ? deps.activity.lastActiveMany(plan.tenantId, ids)
      : new Map<string, number>(),
  ]);
  const limit = pLimit(deps.settings.describeConcurrency);
  const planAt = Date.parse(plan.generatedAt);
  let done = 0;
  return Promise.all(
    plan.changes.map((change: PlanFileChange) =>
      limit(async () => {
        await lease.keep();
        const described = await deps.users.describe(change.appInstanceUserArn);
        deps.progress?.('verify', ++done, plan.changes.length);
        return verifyChange(
          change,
          {
            described,
            lastActiveAt: activity.get(change.appInstanceUserId),
            admin: admins?.has(change.appInstanceUserId) ?? false,
          },
          { compiled, planAt, now: deps.now(), admins, readsActivity },
        );
      }),
    ),
  );
}

async function writeAll(
  plan: PlanFile,
  stored: StoredPolicy,
  verdicts: readonly ChangeVerdict[],
  deps: ApplyPlanDeps,
  lease: LeaseKeeper,
): Promise<PlanApplication> {
  const limit = pLimit(deps.settings.writeConcurrency);
  const toWrite = verdicts.filter((verdict) => verdict.kind === 'apply').length;
  const written = new Map<string, { desiredDays: number | null; createdAt: number }>();
  let failure: unknown;
  await Promise.all(
    plan.changes.map((change, index) => {
      const verdict = verdicts[index];
      if (verdict?.kind !== 'apply') return undefined;
      return limit(async () => {
        if (failure !== undefined) return;
        try {
          await lease.keep();
          await deps.users.putExpiration(change.appInstanceUserArn, verdict.desiredDays);
          written.set(change.appInstanceUserId, verdict);
          deps.progress?.('write', written.size, toWrite);
        } catch (error) {
          failure ??= error;
        }
      });
    }),
  );
  await remember(plan, stored, written, deps);
  const results = plan.changes.map((change, index): AppliedPlanChange => {
    const verdict = verdicts[index] as ChangeVerdict;
    const id = change.appInstanceUserId;
    if (verdict.kind === 'skip') {
      return {
        appInstanceUserId: id,
        outcome: verdict.outcome,
        ...(verdict.found === undefined ? {} : { found: verdict.found }),
        ...(verdict.why === undefined ? {} : { why: verdict.why }),
      };
    }
    return { appInstanceUserId: id, outcome: 'applied' };
  });
  if (failure !== undefined) {
    throw new PlanPartlyAppliedError(
      `plan ${plan.sha256} stopped after ${written.size} of ${toWrite} write(s); it cannot be applied again. Run \`sync --tenant ${plan.tenantId}\` to reconcile the rest`,
      { retryable: false, cause: failure },
    );
  }
  const application: PlanApplication = {
    tenantId: plan.tenantId,
    sha256: plan.sha256,
    policyVersion: plan.policyVersion,
    applied: written.size,
    skipped: results.length - written.size,
    changes: results,
  };
  await deps.issued.finish(plan.tenantId, plan.sha256, application);
  await deps.events.publish([
    {
      type: 'Plan Applied',
      detail: {
        tenantId: plan.tenantId,
        sha256: plan.sha256,
        policyVersion: plan.policyVersion,
        generatedAt: plan.generatedAt,
        applied: application.applied,
        skipped: application.skipped,
        drifted: results.filter((result) => result.outcome === 'drifted').length,
      },
    },
  ]);
  return application;
}

/** The ledger learns what was written, and the written users leave a held run's pending list. */
async function remember(
  plan: PlanFile,
  stored: StoredPolicy,
  written: ReadonlyMap<string, { desiredDays: number | null; createdAt: number }>,
  deps: ApplyPlanDeps,
): Promise<void> {
  if (written.size === 0) return;
  const ids = [...written.keys()];
  const known = await deps.ledger.getMany(plan.tenantId, ids);
  const now = deps.now();
  const ruleOf = new Map(plan.changes.map((change) => [change.appInstanceUserId, change.ruleId]));
  const entries: LedgerEntry[] = ids.map((id) => {
    const write = written.get(id) as { desiredDays: number | null; createdAt: number };
    const ruleId = ruleOf.get(id) ?? null;
    return {
      ...known.get(id),
      appInstanceUserId: id,
      createdAt: write.createdAt,
      expirationDays: write.desiredDays,
      verifiedAt: now,
      appliedPolicyVersion: stored.version,
      ...(ruleId === null ? {} : { appliedRuleId: ruleId }),
    };
  });
  await deps.ledger.putMany(plan.tenantId, entries);
  await deps.runs.removePending(plan.tenantId, ids);
}
