import queues from '../infra/queues.json' with { type: 'json' };
import tables from '../infra/tables.json' with { type: 'json' };

/**
 * Every setting chime-lifecycle reads from the environment, in one place. AWS endpoints are not here:
 * the SDK reads the standard `AWS_ENDPOINT_URL_<SERVICE>` variables itself
 * (`AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SQS`,
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`).
 */
export interface Config {
  readonly region: string;
  readonly policyTable: string;
  readonly stateTable: string;
  readonly idempotencyTable: string;
  /** Queue names or full queue URLs. */
  readonly onboardingQueue: string;
  readonly onboardingDeadLetterQueue: string;
  readonly reconcileQueue: string;
  readonly reconcileDeadLetterQueue: string;
  /** User activity, for the renewal of active users. */
  readonly activityQueue: string;
  readonly activityDeadLetterQueue: string;
  readonly eventBus: string;
  /** Multiplies every Chime quota the client-side rate limiter enforces (tests, benchmarks, raised quotas). */
  readonly quotaScale: number;
  /**
   * Optional cap (0..1] on the share of the account-wide Chime quota this process may use, on top of the
   * coordinated share; 1 (the default) is no cap. Without coordination it is the static share.
   */
  readonly accountQuotaShare: number;
  /**
   * Share the Chime quotas between the processes that use them now, through short leases in the state table
   * (shared/chime/quota-coordinator.ts). Off: every process uses `accountQuotaShare` of the account quota.
   */
  readonly quotaCoordination: boolean;
  /** Share (0..1] of every Chime quota a process uses while the lease store cannot be read. */
  readonly quotaFallbackShare: number;
  /** How long a quota lease counts after its last renewal; renewed every third of it. */
  readonly quotaLeaseSeconds: number;
  /** Days a ledger entry is trusted before the sync describes the user again (spread per user over ½–1×). */
  readonly verifyIntervalDays: number;
  /**
   * Hours after which the sync rewrites an unchanged ledger entry to record that the user was still there;
   * users Chime no longer has are marked gone after this long (0: every run writes every entry).
   */
  readonly ledgerRefreshHours: number;
  /** The sync checkpoints and continues in a new invocation when less than this is left of the Lambda's time. */
  readonly syncSafetyMarginSeconds: number;
  /** The sync checkpoints after this many pages even with time left (0 = no limit). */
  readonly syncMaxPagesPerInvocation: number;
  /** First retry delay of a failed reconcile step (its message's visibility timeout), doubled per receive. */
  readonly syncRetryBaseSeconds: number;
  /** Longest retry delay of a failed reconcile step. */
  readonly syncRetryCapSeconds: number;
  /** First retry delay of a failed onboarding message (its visibility timeout), doubled per receive. */
  readonly onboardingRetryBaseSeconds: number;
  /** Longest retry delay of a failed onboarding message. */
  readonly onboardingRetryCapSeconds: number;
  /** First retry delay of a failed activity message (its visibility timeout), doubled per receive. */
  readonly activityRetryBaseSeconds: number;
  /** Longest retry delay of a failed activity message. */
  readonly activityRetryCapSeconds: number;
  /** How long onboarding reuses an enabled tenant's policy before reading it again. */
  readonly onboardingPolicyCacheSeconds: number;
  /** How long a completed onboarding request is remembered (Powertools idempotency record TTL). */
  readonly onboardingIdempotencyTtlSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const ENV = {
  region: 'AWS_REGION',
  policyTable: tables.PolicyTable.nameVariable,
  stateTable: tables.StateTable.nameVariable,
  idempotencyTable: tables.IdempotencyTable.nameVariable,
  onboardingQueue: queues.OnboardingQueue.nameVariable,
  onboardingDeadLetterQueue: `${queues.OnboardingQueue.nameVariable}_DLQ`,
  reconcileQueue: queues.ReconcileQueue.nameVariable,
  reconcileDeadLetterQueue: `${queues.ReconcileQueue.nameVariable}_DLQ`,
  activityQueue: queues.ActivityQueue.nameVariable,
  activityDeadLetterQueue: `${queues.ActivityQueue.nameVariable}_DLQ`,
  eventBus: 'CHIME_LIFECYCLE_EVENT_BUS',
  quotaScale: 'CHIME_LIFECYCLE_QUOTA_SCALE',
  accountQuotaShare: 'CHIME_LIFECYCLE_ACCOUNT_QUOTA_SHARE',
  quotaCoordination: 'CHIME_LIFECYCLE_QUOTA_COORDINATION',
  quotaFallbackShare: 'CHIME_LIFECYCLE_QUOTA_FALLBACK_SHARE',
  quotaLeaseSeconds: 'CHIME_LIFECYCLE_QUOTA_LEASE_SECONDS',
  verifyIntervalDays: 'CHIME_LIFECYCLE_VERIFY_INTERVAL_DAYS',
  ledgerRefreshHours: 'CHIME_LIFECYCLE_LEDGER_REFRESH_HOURS',
  syncSafetyMarginSeconds: 'CHIME_LIFECYCLE_SYNC_SAFETY_MARGIN_SECONDS',
  syncMaxPagesPerInvocation: 'CHIME_LIFECYCLE_SYNC_MAX_PAGES_PER_INVOCATION',
  syncRetryBaseSeconds: 'CHIME_LIFECYCLE_SYNC_RETRY_BASE_SECONDS',
  syncRetryCapSeconds: 'CHIME_LIFECYCLE_SYNC_RETRY_CAP_SECONDS',
  onboardingRetryBaseSeconds: 'CHIME_LIFECYCLE_ONBOARDING_RETRY_BASE_SECONDS',
  onboardingRetryCapSeconds: 'CHIME_LIFECYCLE_ONBOARDING_RETRY_CAP_SECONDS',
  activityRetryBaseSeconds: 'CHIME_LIFECYCLE_ACTIVITY_RETRY_BASE_SECONDS',
  activityRetryCapSeconds: 'CHIME_LIFECYCLE_ACTIVITY_RETRY_CAP_SECONDS',
  onboardingPolicyCacheSeconds: 'CHIME_LIFECYCLE_ONBOARDING_POLICY_CACHE_SECONDS',
  onboardingIdempotencyTtlSeconds: 'CHIME_LIFECYCLE_ONBOARDING_IDEMPOTENCY_TTL_SECONDS',
} as const satisfies Record<keyof Config, string>;

export const DEFAULTS: Config = {
  region: 'us-east-1',
  policyTable: tables.PolicyTable.defaultName,
  stateTable: tables.StateTable.defaultName,
  idempotencyTable: tables.IdempotencyTable.defaultName,
  onboardingQueue: queues.OnboardingQueue.defaultName,
  onboardingDeadLetterQueue: queues.OnboardingQueue.deadLetterName,
  reconcileQueue: queues.ReconcileQueue.defaultName,
  reconcileDeadLetterQueue: queues.ReconcileQueue.deadLetterName,
  activityQueue: queues.ActivityQueue.defaultName,
  activityDeadLetterQueue: queues.ActivityQueue.deadLetterName,
  eventBus: 'chime-lifecycle',
  quotaScale: 1,
  accountQuotaShare: 1,
  quotaCoordination: true,
  quotaFallbackShare: 0.1,
  quotaLeaseSeconds: 6,
  verifyIntervalDays: 30,
  ledgerRefreshHours: 24,
  syncSafetyMarginSeconds: 60,
  syncMaxPagesPerInvocation: 0,
  syncRetryBaseSeconds: 30,
  syncRetryCapSeconds: 900,
  onboardingRetryBaseSeconds: 2,
  onboardingRetryCapSeconds: 300,
  activityRetryBaseSeconds: 5,
  activityRetryCapSeconds: 300,
  onboardingPolicyCacheSeconds: 5,
  onboardingIdempotencyTtlSeconds: 86_400,
};

type Env = Readonly<Record<string, string | undefined>>;

function text(env: Env, key: keyof Config): string {
  const value = env[ENV[key]]?.trim();
  return value ? value : (DEFAULTS[key] as string);
}

type NumericKey =
  | 'quotaScale'
  | 'accountQuotaShare'
  | 'quotaFallbackShare'
  | 'quotaLeaseSeconds'
  | 'verifyIntervalDays'
  | 'ledgerRefreshHours'
  | 'syncSafetyMarginSeconds'
  | 'syncMaxPagesPerInvocation'
  | 'syncRetryBaseSeconds'
  | 'syncRetryCapSeconds'
  | 'onboardingRetryBaseSeconds'
  | 'onboardingRetryCapSeconds'
  | 'activityRetryBaseSeconds'
  | 'activityRetryCapSeconds'
  | 'onboardingPolicyCacheSeconds'
  | 'onboardingIdempotencyTtlSeconds';

function numberSetting(
  env: Env,
  key: NumericKey,
  range: { min: number; max: number; integer?: boolean; minExclusive?: boolean },
): number {
  const raw = env[ENV[key]]?.trim();
  if (!raw) return DEFAULTS[key];
  const value = Number(raw);
  const tooLow = range.minExclusive ? value <= range.min : value < range.min;
  if (!Number.isFinite(value) || tooLow || value > range.max || (range.integer && !Number.isInteger(value))) {
    const kind = range.integer ? 'a whole number' : 'a number';
    const low = range.minExclusive ? `greater than ${range.min}` : `at least ${range.min}`;
    throw new ConfigError(`${ENV[key]}: must be ${kind} ${low} and at most ${range.max}, got "${raw}"`);
  }
  return value;
}

function booleanSetting(env: Env, key: 'quotaCoordination'): boolean {
  const raw = env[ENV[key]]?.trim().toLowerCase();
  if (!raw) return DEFAULTS[key];
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${ENV[key]}: must be on or off, got "${env[ENV[key]]}"`);
}

/**
 * A setting as its environment variable spells it, so that what is printed or exported reads back as the
 * same value: `on`/`off` for a switch (README's spelling), the number or name as is otherwise.
 */
export function settingText(value: Config[keyof Config]): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

/** Reads the configuration; `overrides` (CLI flags) win over the environment. */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  return {
    region: env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || DEFAULTS.region,
    policyTable: text(env, 'policyTable'),
    stateTable: text(env, 'stateTable'),
    idempotencyTable: text(env, 'idempotencyTable'),
    onboardingQueue: text(env, 'onboardingQueue'),
    onboardingDeadLetterQueue: text(env, 'onboardingDeadLetterQueue'),
    reconcileQueue: text(env, 'reconcileQueue'),
    reconcileDeadLetterQueue: text(env, 'reconcileDeadLetterQueue'),
    activityQueue: text(env, 'activityQueue'),
    activityDeadLetterQueue: text(env, 'activityDeadLetterQueue'),
    eventBus: text(env, 'eventBus'),
    quotaScale: numberSetting(env, 'quotaScale', { min: 0, minExclusive: true, max: 1_000_000 }),
    accountQuotaShare: numberSetting(env, 'accountQuotaShare', { min: 0, minExclusive: true, max: 1 }),
    quotaCoordination: booleanSetting(env, 'quotaCoordination'),
    quotaFallbackShare: numberSetting(env, 'quotaFallbackShare', { min: 0, minExclusive: true, max: 1 }),
    quotaLeaseSeconds: numberSetting(env, 'quotaLeaseSeconds', { min: 1, max: 300 }),
    verifyIntervalDays: numberSetting(env, 'verifyIntervalDays', { min: 0, minExclusive: true, max: 3650 }),
    syncSafetyMarginSeconds: numberSetting(env, 'syncSafetyMarginSeconds', { min: 0, max: 900 }),
    ledgerRefreshHours: numberSetting(env, 'ledgerRefreshHours', { min: 0, max: 8_760 }),
    syncMaxPagesPerInvocation: numberSetting(env, 'syncMaxPagesPerInvocation', {
      min: 0,
      max: 1_000_000,
      integer: true,
    }),
    syncRetryBaseSeconds: numberSetting(env, 'syncRetryBaseSeconds', { min: 1, max: 43_200 }),
    syncRetryCapSeconds: numberSetting(env, 'syncRetryCapSeconds', { min: 1, max: 43_200 }),
    onboardingRetryBaseSeconds: numberSetting(env, 'onboardingRetryBaseSeconds', { min: 1, max: 43_200 }),
    onboardingRetryCapSeconds: numberSetting(env, 'onboardingRetryCapSeconds', { min: 1, max: 43_200 }),
    activityRetryBaseSeconds: numberSetting(env, 'activityRetryBaseSeconds', { min: 1, max: 43_200 }),
    activityRetryCapSeconds: numberSetting(env, 'activityRetryCapSeconds', { min: 1, max: 43_200 }),
    onboardingPolicyCacheSeconds: numberSetting(env, 'onboardingPolicyCacheSeconds', { min: 0, max: 3_600 }),
    onboardingIdempotencyTtlSeconds: numberSetting(env, 'onboardingIdempotencyTtlSeconds', {
      min: 60,
      max: 31_536_000,
    }),
    ...overrides,
  };
}
