/**
 * The stage parameters of the service (serverless.ts `params:`): defaults and per-stage values. Override any
 * of them on the command line without editing a file:
 *   npx serverless deploy --stage prod --param="scheduleRate=rate(30 minutes)"
 *
 * Plain data: the function declarations (functions/<name>/function.ts) name a parameter with `param('name')`
 * where a setting varies by stage, and the local stack resolves those names here, for the `local` stage, as
 * the Serverless Framework does (the stage's value over `default`).
 */
/**
 * onboard-users' event source at a quota scale. The batch is one second of an AppInstance's create quota
 * (10 creates/s at the default quotas, times the scale), at least 10 and at most Lambda's 10,000; the
 * batching window is 1 s when the batch needs more than one receive (Lambda requires it above 10), else 0.
 *
 * Why one second: the records of a batch run side by side and wait for their AppInstance's create tokens,
 * so a batch of one tenant's requests holds its invocation for batch ÷ (quota ÷ invocations) seconds: 2 s
 * for 10 at 1× with the 2 invocations of onboardingConcurrency. That is how long another tenant's requests,
 * first in line on the fair queue (docs/onboarding.md, "Fairness"), can wait for an invocation to take them
 * while one tenant's import fills the others. Smaller batches would pay an invocation's fixed part (the
 * invoke, the batch's DynamoDB and EventBridge writes) too often; larger ones make the small tenants wait
 * (200 at 1× held an invocation 40 s). At 20× the same second is 200, what the deployed bench settled on.
 * And a window only delays a batch one receive fills: at 1× a sign-up is invoked at once, not after 1 s.
 * A deploy at raised quotas sets them with quotaScale (docs/deploy.md): at 20×
 * `--param quotaScale=20 --param onboardingBatchSize=200 --param onboardingBatchWindowSeconds=1`.
 */
export function onboardingAtQuotaScale(quotaScale: number): {
  readonly onboardingBatchSize: number;
  readonly onboardingBatchWindowSeconds: number;
} {
  if (!(quotaScale > 0) || !Number.isFinite(quotaScale)) {
    throw new RangeError(`quotaScale must be a number above 0, got ${quotaScale}`);
  }
  const onboardingBatchSize = Math.min(10_000, Math.max(10, Math.round(10 * quotaScale)));
  return { onboardingBatchSize, onboardingBatchWindowSeconds: onboardingBatchSize > 10 ? 1 : 0 };
}

export const PARAMS = {
  default: {
    // How often every enabled tenant is reconciled (EventBridge schedule expression).
    scheduleRate: 'rate(1 hour)',
    // 'false' pauses the schedule (the rule stays, disabled); policy changes and onboarding still flow.
    scheduleEnabled: 'true',
    // Multiplies every Chime quota the client-side limiter enforces; raise it only after AWS raised the
    // account's Chime SDK Identity quotas by the same factor.
    quotaScale: '1',
    // The Lambdas share the Chime quotas by who is working now: each one with Chime work holds a lease in
    // the state table (renewed every quotaLeaseSeconds / 3) and takes the quota divided by the live holders
    // (docs/deploy.md, "Chime quotas"). The shares below are only the fallback used while the state table
    // cannot be read: share × maximum concurrency summed over both consumers must stay <= 1.
    // Defaults: reconcile 5 × 0.14 + onboarding 2 × 0.15 = 1.0. Change them with the concurrencies.
    reconcileConcurrency: 5,
    reconcileQuotaShare: '0.14',
    onboardingConcurrency: 2,
    onboardingQuotaShare: '0.15',
    // Messages per onboard-users invocation, gathered for up to onboardingBatchWindowSeconds: one second of an
    // AppInstance's create quota at quotaScale (onboardingAtQuotaScale above: 10 and no window at 1×, 200 and
    // 1 s at 20×; set them with quotaScale). A batch's idempotency records, ledger entries and events are
    // written together, and its creates run side by side through the limiter. Measured at quota scale 20, two
    // invocations of 100 held onboarding at 0.8-0.87 of the create quota, of 200 at 0.92-0.98 (BENCHMARKS.md).
    ...onboardingAtQuotaScale(1),
    // How long a quota lease counts after its last renewal: a crashed or frozen Lambda's quota comes back to
    // the others within this. Each working Lambda renews every third of it (one DynamoDB write).
    quotaLeaseSeconds: '6',
    // Optional cap on any one process's share of the account quota (1 = none), e.g. to keep headroom for
    // another application in the same account.
    accountQuotaCap: '1',
    // Days a ledger entry is trusted before the sync describes the user again (shared/config.ts).
    verifyIntervalDays: '30',
    // Hours before an unchanged ledger entry is rewritten to record the user is still there; users Chime no
    // longer has are marked gone after this long.
    ledgerRefreshHours: '24',
    // reconcile-tenant checkpoints and continues in a new invocation when less than this is left of its
    // 900 s timeout.
    syncSafetyMarginSeconds: '60',
    // 0 = no page limit per invocation (only the time limit applies).
    syncMaxPagesPerInvocation: '0',
    // A failed reconcile step comes back after this backoff (doubling per receive, capped).
    syncRetryBaseSeconds: '30',
    syncRetryCapSeconds: '900',
    // Onboarding: retry delay of a failed message (doubling per receive, capped), how long a tenant's policy
    // is cached per container, and how long a completed request is remembered (idempotency record TTL).
    onboardingRetryBaseSeconds: '2',
    onboardingRetryCapSeconds: '300',
    // record-activity: retry delay of a failed activity message (doubling per receive, capped).
    activityRetryBaseSeconds: '5',
    activityRetryCapSeconds: '300',
    onboardingPolicyCacheSeconds: '5',
    onboardingIdempotencyTtlSeconds: '86400',
    logLevel: 'INFO',
    // 'true' bundles source maps into each zip (larger uploads and cold starts; see custom.esbuild).
    sourceMaps: 'false',
    logRetentionInDays: 30,
    // The tenants' roles in other accounts that the functions may assume (comma-separated IAM role ARNs; the
    // default of the stack parameter TenantAccessRoleArns). Empty: no sts:AssumeRole at all. A policy whose
    // `access.roleArn` is not listed here fails with AccessDenied (docs/deploy.md, "Tenants in other accounts").
    tenantAccessRoleArns: '',
    // SNS topic ARN that alarms notify; empty = alarms only change state (visible in the console).
    alarmTopicArn: '',
    // ChimeThrottled (a 429 from Chime, retried by the limiter) above this sum over 5 minutes, twice in a
    // row. Some throttling is normal: the adaptive limiter probes upwards until Chime pushes back.
    chimeThrottledAlarmThreshold: 100,
    // Tables of a throwaway stage go away with the stack; prod keeps them (see the prod section).
    tableDeletionPolicy: 'Delete',
    tableDeletionProtection: false,
  },
  prod: {
    tableDeletionPolicy: 'Retain',
    tableDeletionProtection: true,
  },
  // `serverless offline start --stage local` (never deployed): the functions talk to the local stack, whose
  // resource names come from the environment of the offline process, as the CLI reads them.
  local: {
    // The local stack invokes schedule-sync itself (serverless-offline would otherwise fire it hourly).
    scheduleEnabled: 'false',
    policyTable: "${env:CHIME_LIFECYCLE_POLICY_TABLE, 'chime-lifecycle-policies'}",
    stateTable: "${env:CHIME_LIFECYCLE_STATE_TABLE, 'chime-lifecycle-state'}",
    idempotencyTable: "${env:CHIME_LIFECYCLE_IDEMPOTENCY_TABLE, 'chime-lifecycle-idempotency'}",
    onboardingQueue: "${env:CHIME_LIFECYCLE_ONBOARDING_QUEUE, 'chime-lifecycle-onboarding'}",
    onboardingDeadLetterQueue:
      "${env:CHIME_LIFECYCLE_ONBOARDING_QUEUE_DLQ, 'chime-lifecycle-onboarding-dlq'}",
    reconcileQueue: "${env:CHIME_LIFECYCLE_RECONCILE_QUEUE, 'chime-lifecycle-reconcile'}",
    reconcileDeadLetterQueue: "${env:CHIME_LIFECYCLE_RECONCILE_QUEUE_DLQ, 'chime-lifecycle-reconcile-dlq'}",
    activityQueue: "${env:CHIME_LIFECYCLE_ACTIVITY_QUEUE, 'chime-lifecycle-activity'}",
    activityDeadLetterQueue: "${env:CHIME_LIFECYCLE_ACTIVITY_QUEUE_DLQ, 'chime-lifecycle-activity-dlq'}",
    eventBus: "${env:CHIME_LIFECYCLE_EVENT_BUS, 'chime-lifecycle'}",
    quotaScale: "${env:CHIME_LIFECYCLE_QUOTA_SCALE, '1'}",
    verifyIntervalDays: "${env:CHIME_LIFECYCLE_VERIFY_INTERVAL_DAYS, '30'}",
    syncSafetyMarginSeconds: "${env:CHIME_LIFECYCLE_SYNC_SAFETY_MARGIN_SECONDS, '60'}",
    syncMaxPagesPerInvocation: "${env:CHIME_LIFECYCLE_SYNC_MAX_PAGES_PER_INVOCATION, '0'}",
  },
} as const;

export type Stage = keyof typeof PARAMS;
/** A parameter every stage has (declared under `default`). */
export type ParamName = keyof (typeof PARAMS)['default'];
export const PARAM_NAMES = Object.keys(PARAMS.default) as [ParamName, ...ParamName[]];

/** Stage parameters as serverless.ts takes them: `default` and any number of stages, each name → value. */
export type StageParams = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/**
 * A parameter's value for a stage, as the Serverless Framework resolves `${param:name}`: the stage's value
 * over `default`. (`--param` on the command line would override both; the local stack takes none.)
 */
export function paramValue(name: string, stage: string, params: StageParams = PARAMS): unknown {
  const stageParams = params[stage] ?? {};
  return name in stageParams ? stageParams[name] : params.default?.[name];
}
