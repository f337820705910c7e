import type { ExistingUser, NewUser } from '../contracts/chime-user';
import type { LedgerEntry } from '../contracts/ledger';
import type { CompiledPolicy } from '../policy';

/**
 * The ports of the onboarding use case; shared/chime's ChimeUserPort, the ledger and the composition root
 * implement them.
 */

/** What onboarding needs of a tenant's policy: where its users live and how they expire. */
export interface TenantPolicy {
  readonly tenantId: string;
  readonly version: number;
  readonly enabled: boolean;
  readonly appInstanceArn: string;
  readonly compiled: CompiledPolicy;
}

export interface TenantPolicySource {
  get(tenantId: string): Promise<TenantPolicy | null>;
}

/**
 * The Chime side of onboarding (rate limited, shared with the sync). A failed call throws a ChimeCallError
 * (shared/errors.ts), which says whether it is worth retrying and never carries Chime's message.
 */
export interface OnboardingUsers {
  userArn(appInstanceArn: string, appInstanceUserId: string): string;
  create(user: NewUser): Promise<string>;
  describe(userArn: string): Promise<ExistingUser | null>;
  update(userArn: string, attributes: { name: string; metadata: string }): Promise<void>;
  putExpiration(userArn: string, days: number | null): Promise<void>;
  /** The AppInstance's admins (ListAppInstanceAdmins) as AppInstanceUserIds. */
  listAdmins(appInstanceArn: string): Promise<ReadonlySet<string>>;
}

export interface OnboardingLedger {
  putMany(tenantId: string, entries: readonly LedgerEntry[]): Promise<void>;
}

/**
 * What the Chime quotas let this process do within a time, as its rate limiter estimates it: the quota
 * buckets a CreateAppInstanceUser draws on, and how many more calls each can serve.
 */
export interface CreateCapacity {
  /** The buckets one CreateAppInstanceUser in this AppInstance takes a token from. */
  bucketsOfCreate(appInstanceArn: string): readonly string[];
  /** How many more calls `bucket` can serve within `horizonMs`, after the calls already waiting for it. */
  servableWithin(bucket: string, horizonMs: number): number;
}
