import { DAY_MS, type DecisionSource, describeExpiration, type Policy } from '../policy';
import type { Plan, PlannedChange } from '../sync/plan';

/** One user as the report sees it: where its expiry is now and where the plan would put it. */
export interface ReportUser {
  readonly appInstanceUserId: string;
  /** The rule that governs the user; null for the default or no rule. */
  readonly ruleId: string | null;
  readonly source: DecisionSource;
  readonly unmanaged: boolean;
  /** Epoch ms; null when the user has no expiration. */
  readonly currentExpiresAt: number | null;
  /** Epoch ms once the plan is applied; null when it would have none. */
  readonly desiredExpiresAt: number | null;
}

export const BUCKETS = [
  { id: 'expired', label: 'expired' },
  { id: 'lt7d', label: '< 7 d' },
  { id: 'lt30d', label: '< 30 d' },
  { id: 'lt90d', label: '< 90 d' },
  { id: 'lt1y', label: '< 1 y' },
  { id: 'gt1y', label: '> 1 y' },
  { id: 'never', label: 'never' },
] as const;

export type BucketId = (typeof BUCKETS)[number]['id'];

export interface BucketCount {
  readonly id: BucketId;
  readonly label: string;
  readonly before: number;
  readonly after: number;
  /** Of `before`, the users whose expiry the plan changes (they leave the bucket or get another date in it). */
  readonly changingBefore: number;
  /** Of `after`, the users whose expiry the plan changed (they arrived, or got another date in the bucket). */
  readonly changedAfter: number;
}

/** Users whose expiry the plan changes, by the bucket they leave and the one they land in (the same, too). */
export interface BucketMove {
  readonly from: BucketId;
  readonly to: BucketId;
  readonly users: number;
}

/** Which policy the report shows: a stored version, or a file previewed before it is stored. */
export type ReportPolicySource =
  | { readonly kind: 'stored'; readonly version: number }
  | { readonly kind: 'unsaved'; readonly file: string };

/** How a report names its policy: "policy version 3" or "unsaved file policies/acme.json". */
export function policySourceText(source: ReportPolicySource): string {
  return source.kind === 'stored' ? `policy version ${source.version}` : `unsaved file ${source.file}`;
}

export interface CalendarDay {
  /** YYYY-MM-DD (UTC). */
  readonly date: string;
  /** Users whose expiry (after the plan) falls on this UTC day. */
  readonly count: number;
}

export interface RuleCount {
  /** A rule id, `(default)` or `(no rule)`. */
  readonly rule: string;
  readonly expiration: string;
  readonly users: number;
  readonly changes: number;
  readonly shortening: number;
}

export interface ReportData {
  readonly tenantId: string;
  readonly appInstanceArn: string;
  readonly generatedAt: string;
  readonly policySource: ReportPolicySource;
  readonly summary: Plan['summary'];
  readonly buckets: readonly BucketCount[];
  /** Every change, as moves between buckets (a change within one bucket is a move to itself), most first. */
  readonly moves: readonly BucketMove[];
  readonly calendar: readonly CalendarDay[];
  readonly rules: readonly RuleCount[];
  readonly shortening: readonly PlannedChange[];
}

export const CALENDAR_DAYS = 90;

/** Which bucket an expiry instant falls in, seen from `now`. */
export function bucketOf(expiresAt: number | null, now: number): BucketId {
  if (expiresAt === null) return 'never';
  const left = expiresAt - now;
  if (left <= 0) return 'expired';
  if (left < 7 * DAY_MS) return 'lt7d';
  if (left < 30 * DAY_MS) return 'lt30d';
  if (left < 90 * DAY_MS) return 'lt90d';
  if (left < 365 * DAY_MS) return 'lt1y';
  return 'gt1y';
}

function expirationText(policy: Policy, ruleId: string | null, source: ReportUser['source']): string {
  const expiration =
    source === 'rule'
      ? policy.rules.find((rule) => rule.id === ruleId)?.expiration
      : source === 'default'
        ? policy.default?.expiration
        : source === 'exemption'
          ? policy.exemptions.find((exemption) => exemption.id === ruleId)?.expiration
          : 'unmanaged';
  return expiration === undefined ? '' : describeExpiration(expiration);
}

/** Everything the report shows, computed once (pure: the renderers only lay it out). */
export function buildReport(
  policy: Policy,
  policySource: ReportPolicySource,
  plan: Plan,
  users: readonly ReportUser[],
  now: number,
): ReportData {
  const count = new Map<string, number>();
  const add = (key: string) => count.set(key, (count.get(key) ?? 0) + 1);
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const perDay = new Map<number, number>();
  for (const user of users) {
    const was = bucketOf(user.currentExpiresAt, now);
    const will = bucketOf(user.desiredExpiresAt, now);
    add(`before ${was}`);
    add(`after ${will}`);
    if (user.desiredExpiresAt !== user.currentExpiresAt) {
      add(`changing ${was}`);
      add(`changed ${will}`);
      add(`move ${was} ${will}`);
    }
    if (user.desiredExpiresAt !== null && user.desiredExpiresAt > now) {
      const day = Math.floor((user.desiredExpiresAt - today) / DAY_MS);
      if (day < CALENDAR_DAYS) perDay.set(day, (perDay.get(day) ?? 0) + 1);
    }
  }
  const moves: BucketMove[] = [];
  for (const from of BUCKETS) {
    for (const to of BUCKETS) {
      const moved = count.get(`move ${from.id} ${to.id}`) ?? 0;
      if (moved > 0) moves.push({ from: from.id, to: to.id, users: moved });
    }
  }
  moves.sort((a, b) => b.users - a.users);
  const calendar = Array.from({ length: CALENDAR_DAYS }, (_, day) => ({
    date: new Date(today + day * DAY_MS).toISOString().slice(0, 10),
    count: perDay.get(day) ?? 0,
  }));

  const ruleKey = (ruleId: string | null, source: ReportUser['source']) =>
    source === 'rule'
      ? (ruleId ?? '')
      : source === 'default'
        ? '(default)'
        : source === 'exemption'
          ? `(exemption ${ruleId ?? ''})`
          : source === 'admin'
            ? '(admins, protected)'
            : '(no rule)';
  const rules = new Map<string, { expiration: string; users: number; changes: number; shortening: number }>();
  for (const rule of [...policy.rules].sort((a, b) => a.priority - b.priority)) {
    rules.set(rule.id, {
      expiration: expirationText(policy, rule.id, 'rule'),
      users: 0,
      changes: 0,
      shortening: 0,
    });
  }
  if (policy.default)
    rules.set('(default)', {
      expiration: expirationText(policy, null, 'default'),
      users: 0,
      changes: 0,
      shortening: 0,
    });
  for (const user of users) {
    const key = ruleKey(user.ruleId, user.source);
    const entry = rules.get(key) ?? { expiration: 'unmanaged', users: 0, changes: 0, shortening: 0 };
    entry.users++;
    rules.set(key, entry);
  }
  for (const change of plan.changes) {
    const entry = rules.get(ruleKey(change.ruleId, change.source));
    if (!entry) continue;
    entry.changes++;
    if (change.shortens) entry.shortening++;
  }

  return {
    tenantId: plan.tenantId,
    appInstanceArn: plan.appInstanceArn,
    generatedAt: plan.generatedAt,
    policySource,
    summary: plan.summary,
    buckets: BUCKETS.map((bucket) => ({
      id: bucket.id,
      label: bucket.label,
      before: count.get(`before ${bucket.id}`) ?? 0,
      after: count.get(`after ${bucket.id}`) ?? 0,
      changingBefore: count.get(`changing ${bucket.id}`) ?? 0,
      changedAfter: count.get(`changed ${bucket.id}`) ?? 0,
    })),
    moves,
    calendar,
    rules: [...rules].map(([rule, entry]) => ({ rule, ...entry })),
    shortening: plan.changes.filter((change) => change.shortens),
  };
}
