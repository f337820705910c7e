import type { CreateCapacity, TenantPolicySource } from './ports';

/**
 * Which requests of a batch their tenants' Chime quota cannot serve before the invocation's deadline.
 *
 * The records of a batch run side by side, and a request waits for its AppInstance's create token (10/s per
 * AppInstance at the default quotas, shared by the invocations working on it). When a batch holds more of one
 * tenant's requests than its quota serves before the deadline, those beyond would only wait, hold their
 * messages in flight and keep the invocation busy, then be handed back at the deadline anyway. So they are
 * handed back at the start instead (shared/aws/queue-driver.ts), and the rest of the batch proceeds.
 *
 * The estimate: each bucket a create draws on (the AppInstance's and the account's) can serve its tokens now
 * plus its rate times the horizon, minus the calls already waiting for it (CreateCapacity, from the rate
 * limiter). Requests are admitted in batch order while every bucket they need has room; one create each (a
 * request that converges an existing user makes more calls, a retried 429 another: the invocation's deadline
 * catches what the estimate misses). A request whose tenant has no enabled policy, or whose policy cannot be
 * read now, is admitted: the handler decides what becomes of it.
 */

export interface CapacityRequest {
  readonly messageId: string;
  readonly tenantId: string;
}

export interface CapacityDeps {
  readonly policies: TenantPolicySource;
  readonly capacity: CreateCapacity;
}

/** The message ids of the requests beyond what their quotas serve within `horizonMs`. */
export async function requestsBeyondCapacity(
  requests: readonly CapacityRequest[],
  horizonMs: number,
  deps: CapacityDeps,
): Promise<Set<string>> {
  const tenants = [...new Set(requests.map((request) => request.tenantId))];
  const appInstances = new Map(
    await Promise.all(
      tenants.map(async (tenantId) => {
        const policy = await deps.policies.get(tenantId).catch(() => null);
        return [tenantId, policy?.enabled ? policy.appInstanceArn : undefined] as const;
      }),
    ),
  );
  const room = new Map<string, number>();
  const roomOf = (bucket: string) => {
    let left = room.get(bucket);
    if (left === undefined) {
      left = deps.capacity.servableWithin(bucket, Math.max(0, horizonMs));
      room.set(bucket, left);
    }
    return left;
  };
  const beyond = new Set<string>();
  for (const { messageId, tenantId } of requests) {
    const appInstanceArn = appInstances.get(tenantId);
    if (appInstanceArn === undefined) continue;
    const buckets = deps.capacity.bucketsOfCreate(appInstanceArn);
    if (buckets.every((bucket) => roomOf(bucket) >= 1)) {
      for (const bucket of buckets) room.set(bucket, roomOf(bucket) - 1);
    } else {
      beyond.add(messageId);
    }
  }
  return beyond;
}
