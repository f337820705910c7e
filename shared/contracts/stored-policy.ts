import type { Policy } from '../policy';

/**
 * One stored version of a tenant's policy (shared/aws/policy-store.ts writes and reads it; the sync,
 * onboarding, the schedule and the CLI read it).
 */
export interface StoredPolicy {
  readonly tenantId: string;
  readonly version: number;
  readonly updatedAt: string;
  /** The document as written by the operator (defaults not filled in), for `policy get` and history. */
  readonly document: Record<string, unknown>;
  /** The validated policy with defaults applied. */
  readonly policy: Policy;
  /** The document's text as it was put (key order and layout kept), so `policy get` round-trips. */
  readonly source?: string;
  /** Set on the version that moved the tenant to another AppInstance: the ARN it left. */
  readonly movedFrom?: string;
}
