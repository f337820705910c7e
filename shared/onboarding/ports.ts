import type { CompiledPolicy } from '../policy';
import type { LedgerEntry } from '../sync/ports';

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

/** A user as DescribeAppInstanceUser returns it. Name and metadata are personal data: never log them. */
export interface ExistingUser {
  readonly arn: string;
  readonly appInstanceUserId: string;
  readonly name: string;
  readonly metadata: string;
  /** Epoch milliseconds; expiration is counted from here. */
  readonly createdAt: number;
  /** Undefined when the user has no expiration. */
  readonly expirationDays: number | undefined;
}

export interface NewUser {
  readonly appInstanceArn: string;
  readonly appInstanceUserId: string;
  readonly name: string;
  readonly metadata?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly expirationDays?: number;
  /** Deterministic per logical request, so a redelivered message repeats the same create. */
  readonly clientRequestToken: string;
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
