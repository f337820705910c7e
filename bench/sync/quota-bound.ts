/** The least time a sync's calls can take at the (scaled) quotas. */
import type { PullModeResult } from '../../shared/sync/pull-mode';
import { RATES } from './settings';

export interface QuotaBound {
  readonly seconds: number;
  readonly binding: string;
}

/**
 * The least time the calls a sync made can take at the (scaled) quotas: the busiest bucket's calls over its
 * rate. Per AppInstance (one per tenant): writes (Put/Create) at 10K, describes at 20K, lists at 10K per
 * second; per account: every call at 50K. Only admitted calls count: a throttled call takes no token.
 */
export function quotaBound(
  perTenant: readonly { tenantId: string; writes: number; describes: number; lists: number }[],
  accountCalls: number,
  scale: number,
): QuotaBound {
  const candidates: QuotaBound[] = [
    {
      seconds: accountCalls / (RATES.account * scale),
      binding: `account: ${accountCalls} calls at ${RATES.account * scale}/s`,
    },
  ];
  for (const tenant of perTenant) {
    candidates.push(
      {
        seconds: tenant.describes / (RATES.describes * scale),
        binding: `${tenant.tenantId} describes: ${tenant.describes} at ${RATES.describes * scale}/s`,
      },
      {
        seconds: tenant.writes / (RATES.writes * scale),
        binding: `${tenant.tenantId} writes: ${tenant.writes} at ${RATES.writes * scale}/s`,
      },
      {
        seconds: tenant.lists / (RATES.lists * scale),
        binding: `${tenant.tenantId} lists: ${tenant.lists} at ${RATES.lists * scale}/s`,
      },
    );
  }
  return candidates.reduce((best, candidate) => (candidate.seconds > best.seconds ? candidate : best));
}

export function perTenantCalls(results: readonly PullModeResult[]) {
  return results.map((result) => {
    const counters = result.run?.counters;
    return {
      tenantId: result.tenantId,
      writes: (counters?.set ?? 0) + (counters?.removed ?? 0),
      describes: counters?.described ?? 0,
      lists: counters?.pages ?? 0,
      chimeCalls: counters?.chimeCalls ?? 0,
    };
  });
}
