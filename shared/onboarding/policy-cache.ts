import type { StoredPolicy } from '../contracts/stored-policy';
import { compilePolicy } from '../policy';
import type { TenantPolicy, TenantPolicySource } from './ports';

/**
 * A tenant's policy, reused for `ttlMs` when it is enabled; concurrent readers share one DynamoDB read.
 * Saves a read and a policy compilation per message; a policy change reaches onboarding within `ttlMs`.
 * Unknown and disabled tenants are never cached, so fixing a tenant and redriving its messages works at once.
 */
export function cachedTenantPolicies(
  store: { get(tenantId: string): Promise<StoredPolicy | null> },
  ttlMs: number,
  now: () => number = Date.now,
): TenantPolicySource {
  const cache = new Map<string, { readonly policy: Promise<TenantPolicy | null>; readonly readAt: number }>();
  const read = async (tenantId: string): Promise<TenantPolicy | null> => {
    const stored = await store.get(tenantId);
    if (!stored) return null;
    return {
      tenantId,
      version: stored.version,
      enabled: stored.policy.enabled,
      appInstanceArn: stored.policy.appInstanceArn,
      compiled: compilePolicy(stored.policy),
    };
  };
  return {
    async get(tenantId) {
      const cached = cache.get(tenantId);
      if (cached && now() - cached.readAt < ttlMs) {
        const policy = await cached.policy.catch(() => null);
        if (policy?.enabled) return policy;
      }
      const entry = { policy: read(tenantId), readAt: now() };
      cache.set(tenantId, entry);
      try {
        const policy = await entry.policy;
        if (!policy?.enabled) cache.delete(tenantId);
        return policy;
      } catch (error) {
        cache.delete(tenantId);
        throw error;
      }
    },
  };
}
