/** Chime calls between two emulator stats readings, and the quota lower bound of the calls a sync made. */
import type { EmulatorStats } from '../../emulator';
import { DEFAULT_CHIME_QUOTAS } from '../../shared/chime/quotas';

export type Counts = Record<string, number>;

export interface CallCounts {
  readonly calls: Counts;
  readonly throttled: Counts;
  readonly ok: Counts;
}

export function delta(after: EmulatorStats, before: EmulatorStats): CallCounts {
  const calls: Counts = {};
  const throttled: Counts = {};
  const ok: Counts = {};
  for (const [op, count] of Object.entries(after.calls)) {
    calls[op] = count - (before.calls[op] ?? 0);
    throttled[op] = (after.throttled[op] ?? 0) - (before.throttled[op] ?? 0);
    ok[op] = (calls[op] ?? 0) - (throttled[op] ?? 0);
  }
  return { calls, throttled, ok };
}

export const sum = (counts: Counts) => Object.values(counts).reduce((total, count) => total + count, 0);

/** The quota lower bound of `ok` calls spread evenly over `tenants` AppInstances, at quota scale `scale`. */
export function lowerBound(ok: Counts, tenants: number, scale: number): { seconds: number; by: string } {
  const rate = (name: keyof typeof DEFAULT_CHIME_QUOTAS) => DEFAULT_CHIME_QUOTAS[name] * scale;
  const writes =
    (ok.PutAppInstanceUserExpirationSettings ?? 0) +
    (ok.CreateAppInstanceUser ?? 0) +
    (ok.UpdateAppInstanceUser ?? 0) +
    (ok.DeleteAppInstanceUser ?? 0);
  const candidates: [string, number][] = [
    ['account', sum(ok) / rate('account')],
    ['describes per AppInstance', (ok.DescribeAppInstanceUser ?? 0) / tenants / rate('describe-user')],
    ['user writes per AppInstance', writes / tenants / rate('user-writes')],
    ['lists per AppInstance', (ok.ListAppInstanceUsers ?? 0) / tenants / rate('list-users')],
  ];
  const [by, seconds] = candidates.reduce((best, next) => (next[1] > best[1] ? next : best));
  return { seconds, by };
}

export function describeCalls(counts: Counts): string {
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([op, count]) => `${op} ${count}`)
    .join(', ');
}
