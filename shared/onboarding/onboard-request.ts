import type { EventSink, LifecycleEvent } from '../contracts/lifecycle-events';
import { ChimeCallError, RetryableError } from '../errors';
import { type Decision, decide } from '../policy';
import { type OnboardRequest, tagRecord } from './message';
import type { OnboardingLedger, OnboardingUsers, TenantPolicy, TenantPolicySource } from './ports';
import { chimeFailureVerdict, OnboardingRejection } from './retry';

export type { OnboardingLedger, OnboardingUsers, TenantPolicy, TenantPolicySource };

export interface OnboardingDeps {
  readonly policies: TenantPolicySource;
  readonly users: OnboardingUsers;
  readonly ledger: OnboardingLedger;
  readonly events: EventSink;
  readonly now: () => number;
}

export type OnboardingResult = 'created' | 'converged';
export type ConvergedAttribute = 'name' | 'metadata' | 'expiration';

/**
 * The result of one request. Stored as the idempotent response (JSON, no undefined members) and returned
 * as is to every later delivery of the same request; it holds identifiers only, never name or metadata.
 */
export interface OnboardOutcome {
  readonly result: OnboardingResult;
  readonly tenantId: string;
  readonly appInstanceUserId: string;
  readonly requestId: string | null;
  readonly appInstanceUserArn: string;
  readonly policyVersion: number;
  readonly ruleId: string | null;
  /** The user's ExpirationDays afterwards; null when it has none. */
  readonly expirationDays: number | null;
  /** What convergence changed on an existing user (empty for a created one). */
  readonly changed: readonly ConvergedAttribute[];
}

/** Chime said "conflict" but the user is not there: it was deleted meanwhile. Retried: the retry creates it. */
export class UserVanishedError extends RetryableError {
  override name = 'UserVanishedError';
}

/**
 * Onboards one request: creates the user with the ExpirationSettings its tenant's policy decides, or, when
 * the user already exists with other attributes (ConflictException), converges it to the request and the
 * policy; records it in the ledger and publishes `User Onboarded`.
 *
 * Pure orchestration over ports. Exactly-once is the caller's job (it runs this under the idempotency
 * key); this function is only required to be safe to run again after a failure at any point, which it is:
 * the create carries the request's deterministic ClientRequestToken (a repeat returns the same user or a
 * conflict, never a second user), and every later step is an idempotent PUT.
 *
 * @throws OnboardingRejection when the request can never succeed (unknown or disabled tenant, Chime 400/403,
 *   ResourceLimitExceeded); anything else thrown is worth retrying.
 */
export async function onboardRequest(
  request: OnboardRequest,
  clientRequestToken: string,
  deps: OnboardingDeps,
): Promise<OnboardOutcome> {
  const { tenantId, appInstanceUserId } = request;
  const policy = await deps.policies.get(tenantId);
  if (!policy)
    throw new OnboardingRejection('tenant-not-found', `tenantId: no policy is stored for this tenant`);
  if (!policy.enabled)
    throw new OnboardingRejection('tenant-disabled', `tenantId: the tenant's policy is disabled`);

  const now = deps.now();
  // A new user is created now and has no expiration yet: the engine decides as for any user (rule, default,
  // floor), and "never" or "unmanaged" leave ExpirationSettings out. The safety caps do not apply: they
  // guard existing users against mass shortening, and a new user has no expiry to lose.
  const decision = decide(
    policy.compiled,
    { appInstanceUserId, metadata: request.metadata },
    { createdAt: now, expirationDays: undefined },
    now,
  );
  const expirationDays = decision.desired.kind === 'set' ? decision.desired.days : undefined;
  const tags = tagRecord(request);

  let appInstanceUserArn: string;
  try {
    appInstanceUserArn = await deps.users.create({
      appInstanceArn: policy.appInstanceArn,
      appInstanceUserId,
      name: request.name,
      clientRequestToken,
      ...(request.metadata === undefined ? {} : { metadata: request.metadata }),
      ...(tags === undefined ? {} : { tags }),
      ...(expirationDays === undefined ? {} : { expirationDays }),
    });
  } catch (error) {
    if (!(error instanceof ChimeCallError && error.kind === 'conflict')) throw asRejection(error);
    return converge(request, policy, deps);
  }

  const outcome: OnboardOutcome = {
    result: 'created',
    tenantId,
    appInstanceUserId,
    requestId: request.requestId ?? null,
    appInstanceUserArn,
    policyVersion: policy.version,
    ruleId: decision.ruleId,
    expirationDays: expirationDays ?? null,
    changed: [],
  };
  // createdAt is our clock just before the create; Chime's CreatedTimestamp is a moment later. The sync
  // re-describes the user when the entry falls due, and every expiry it computes uses this same instant.
  await record(outcome, { createdAt: now, verifiedAt: now }, deps);
  return outcome;
}

/**
 * The user exists with other attributes (or this request's token was used with other parameters, e.g. the
 * policy changed between two attempts): bring it to what the request and the policy say.
 * An absent `metadata` in the request leaves the user's metadata as it is: onboarding never erases data the
 * request did not mention. Tags are applied at creation only.
 */
async function converge(
  request: OnboardRequest,
  policy: TenantPolicy,
  deps: OnboardingDeps,
): Promise<OnboardOutcome> {
  const userArn = deps.users.userArn(policy.appInstanceArn, request.appInstanceUserId);
  const current = await rejecting(() => deps.users.describe(userArn));
  if (!current) {
    throw new UserVanishedError('CreateAppInstanceUser reported a conflict but the user does not exist');
  }
  const changed: ConvergedAttribute[] = [];
  const metadata = request.metadata ?? current.metadata;
  if (current.name !== request.name) changed.push('name');
  if (current.metadata !== metadata) changed.push('metadata');
  if (changed.length > 0) {
    await rejecting(() => deps.users.update(userArn, { name: request.name, metadata }));
  }

  const now = deps.now();
  const user = { appInstanceUserId: request.appInstanceUserId, metadata };
  const state = { createdAt: current.createdAt, expirationDays: current.expirationDays };
  let decision: Decision = decide(policy.compiled, user, state, now);
  if (decision.changes && policy.compiled.protectAdmins) {
    // Only a write needs the admin list: an existing user may have been promoted, and an admin is never
    // given an expiration (a catch-all rule would otherwise have Chime delete it).
    const admins = await rejecting(() => deps.users.listAdmins(policy.appInstanceArn));
    if (admins.has(request.appInstanceUserId))
      decision = decide(policy.compiled, user, state, now, { admins });
  }
  let expirationDays = current.expirationDays ?? null;
  if (decision.changes) {
    const days = decision.desired.kind === 'set' ? decision.desired.days : null;
    await rejecting(() => deps.users.putExpiration(userArn, days));
    expirationDays = days;
    changed.push('expiration');
  }

  const outcome: OnboardOutcome = {
    result: 'converged',
    tenantId: request.tenantId,
    appInstanceUserId: request.appInstanceUserId,
    requestId: request.requestId ?? null,
    appInstanceUserArn: userArn,
    policyVersion: policy.version,
    ruleId: decision.ruleId,
    expirationDays,
    changed,
  };
  await record(outcome, { createdAt: current.createdAt, verifiedAt: now }, deps);
  return outcome;
}

/** Ledger first, event last: a failed publish retries the whole request, which repeats the PUTs harmlessly. */
async function record(
  outcome: OnboardOutcome,
  times: { createdAt: number; verifiedAt: number },
  deps: OnboardingDeps,
): Promise<void> {
  await deps.ledger.putMany(outcome.tenantId, [
    {
      appInstanceUserId: outcome.appInstanceUserId,
      createdAt: times.createdAt,
      expirationDays: outcome.expirationDays,
      verifiedAt: times.verifiedAt,
      appliedPolicyVersion: outcome.policyVersion,
      appliedRuleId: outcome.ruleId ?? undefined,
    },
  ]);
  await deps.events.publish([onboardedEvent(outcome)]);
}

export function onboardedEvent(outcome: OnboardOutcome): LifecycleEvent {
  return {
    type: 'User Onboarded',
    detail: {
      tenantId: outcome.tenantId,
      appInstanceUserId: outcome.appInstanceUserId,
      appInstanceUserArn: outcome.appInstanceUserArn,
      requestId: outcome.requestId,
      result: outcome.result,
      ruleId: outcome.ruleId,
      expirationDays: outcome.expirationDays,
      policyVersion: outcome.policyVersion,
      changed: [...outcome.changed],
    },
  };
}

async function rejecting<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw asRejection(error);
  }
}

/** A permanent Chime answer becomes a rejection; anything else is rethrown as is (to be retried). */
function asRejection(error: unknown): unknown {
  const verdict = chimeFailureVerdict(error);
  return verdict.action === 'reject' ? new OnboardingRejection(verdict.reason, verdict.detail) : error;
}
