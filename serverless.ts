/**
 * chime-lifecycle on AWS: six Lambda functions, three DynamoDB tables, three work queues with DLQs, an
 * EventBridge bus, a few alarms and a dashboard. See docs/deploy.md for how to deploy, what it costs and how
 * to point the CLI at a deployed stack.
 *
 * `serverless` here is osls (the open fork of the Serverless Framework, installed under the `serverless`
 * name): it needs no login, no licence key and no binary download, so `npx serverless package` also works
 * offline. It reads this TypeScript service file itself (through tsx), so the functions below are built from
 * their declarations (functions/<name>/function.ts, listed in functions/index.ts) when the template is built,
 * by the same code the local stack wires them with: no generated file to keep up to date, nothing to drift.
 * Everything that code reads too (table keys, stream, TTL, queue timeouts, receive counts) comes from
 * infra/tables.json and infra/queues.json; the other resources are in infra/resources.yml.
 */

import { DEFAULT_MEMORY_MB } from './functions/declaration';
import { FUNCTIONS } from './functions/index';
import { functionsOfService, tenantAccessOutput } from './infra/functions';
import { dashboard, lambdaThrottlesAlarm } from './infra/monitoring';
import { PARAMS } from './infra/params';

const { functions, roles, queuePolicies } = functionsOfService(FUNCTIONS);

export default {
  service: 'chime-lifecycle',
  frameworkVersion: '4',

  plugins: [
    // Bundles each handler with esbuild (TypeScript, ESM-only dependencies such as @middy/core 7).
    'serverless-esbuild',
    // `serverless offline start --stage local`: Lambda Invoke API on :3002 for the local stack.
    'serverless-offline',
  ],

  // Settings that vary by stage (infra/params.ts): `--param="name=value"` overrides any of them.
  params: PARAMS,

  custom: {
    // Physical names: <service>-<stage>-<name>, so several stages live side by side in one account. The
    // functions get the same names through the environment (queue names are resolved to URLs once per
    // container with GetQueueUrl, which each role allows on its own queues only).
    names: {
      policyTable: "${param:policyTable, '${self:service}-${sls:stage}-policies'}",
      stateTable: "${param:stateTable, '${self:service}-${sls:stage}-state'}",
      idempotencyTable: "${param:idempotencyTable, '${self:service}-${sls:stage}-idempotency'}",
      onboardingQueue: "${param:onboardingQueue, '${self:service}-${sls:stage}-onboarding'}",
      onboardingDeadLetterQueue:
        "${param:onboardingDeadLetterQueue, '${self:service}-${sls:stage}-onboarding-dlq'}",
      reconcileQueue: "${param:reconcileQueue, '${self:service}-${sls:stage}-reconcile'}",
      reconcileDeadLetterQueue:
        "${param:reconcileDeadLetterQueue, '${self:service}-${sls:stage}-reconcile-dlq'}",
      activityQueue: "${param:activityQueue, '${self:service}-${sls:stage}-activity'}",
      activityDeadLetterQueue:
        "${param:activityDeadLetterQueue, '${self:service}-${sls:stage}-activity-dlq'}",
      // Where Lambda reports policy-table stream batches it gave up on (the local stream runner reports to a
      // local queue of the same name), and where Chime deletion events user-removed could not handle end.
      policyStreamFailureQueue: '${self:service}-${sls:stage}-policy-stream-failures',
      userRemovedDeadLetterQueue: '${self:service}-${sls:stage}-user-removed-dlq',
      eventBus: "${param:eventBus, '${self:service}-${sls:stage}'}",
    },
    tables: '${file(./infra/tables.json)}',
    queues: '${file(./infra/queues.json)}',

    esbuild: {
      bundle: true,
      // Everything is bundled, the AWS SDK included: the pinned SDK versions are the ones the tests ran with
      // (the Chime client's rate-limit middleware depends on @smithy internals), not whatever the runtime has.
      exclude: [],
      platform: 'node',
      target: 'node22',
      // The project is "type": "module", so a CommonJS bundle named .js would be loaded as ESM and crash
      // ("module is not defined in ES module scope"). .cjs is CommonJS whatever package.json says, and the
      // Lambda Node.js runtime looks for <handler>.js, .mjs and .cjs.
      format: 'cjs',
      outputFileExtension: '.cjs',
      minify: true,
      keepNames: true,
      // Off by default: source maps doubled each zip (over 1.5 MB). keepNames keeps stack traces readable;
      // `--param="sourceMaps=true"` puts them back in the zip for a debugging deployment (NODE_OPTIONS below
      // already enables them).
      sourcemap: '${strToBool(${param:sourceMaps})}',
      // A bundle is per function; nothing to install next to it.
      packager: 'npm',
    },
  },

  package: { individually: true },

  provider: {
    name: 'aws',
    runtime: 'nodejs22.x',
    // Pure JavaScript bundles: Graviton is ~20% cheaper per GB-second.
    architecture: 'arm64',
    stage: "${opt:stage, 'dev'}",
    region: "${opt:region, 'us-east-1'}",
    memorySize: DEFAULT_MEMORY_MB,
    logRetentionInDays: '${param:logRetentionInDays}',
    stackTags: { service: '${self:service}', stage: '${sls:stage}' },
    // Settings every function reads (shared/config.ts). AWS_REGION is set by Lambda itself. Per-function
    // settings (the Chime quota share) are in the declarations. Endpoints are never set here: on AWS the SDK
    // uses the real ones, offline the AWS_ENDPOINT_URL_* variables of the offline process are passed through.
    environment: {
      CHIME_LIFECYCLE_POLICY_TABLE: '${self:custom.names.policyTable}',
      CHIME_LIFECYCLE_STATE_TABLE: '${self:custom.names.stateTable}',
      CHIME_LIFECYCLE_IDEMPOTENCY_TABLE: '${self:custom.names.idempotencyTable}',
      CHIME_LIFECYCLE_ONBOARDING_QUEUE: '${self:custom.names.onboardingQueue}',
      CHIME_LIFECYCLE_ONBOARDING_QUEUE_DLQ: '${self:custom.names.onboardingDeadLetterQueue}',
      CHIME_LIFECYCLE_RECONCILE_QUEUE: '${self:custom.names.reconcileQueue}',
      CHIME_LIFECYCLE_RECONCILE_QUEUE_DLQ: '${self:custom.names.reconcileDeadLetterQueue}',
      CHIME_LIFECYCLE_ACTIVITY_QUEUE: '${self:custom.names.activityQueue}',
      CHIME_LIFECYCLE_ACTIVITY_QUEUE_DLQ: '${self:custom.names.activityDeadLetterQueue}',
      CHIME_LIFECYCLE_EVENT_BUS: '${self:custom.names.eventBus}',
      CHIME_LIFECYCLE_QUOTA_SCALE: '${param:quotaScale}',
      CHIME_LIFECYCLE_VERIFY_INTERVAL_DAYS: '${param:verifyIntervalDays}',
      CHIME_LIFECYCLE_LEDGER_REFRESH_HOURS: '${param:ledgerRefreshHours}',
      CHIME_LIFECYCLE_SYNC_SAFETY_MARGIN_SECONDS: '${param:syncSafetyMarginSeconds}',
      CHIME_LIFECYCLE_SYNC_MAX_PAGES_PER_INVOCATION: '${param:syncMaxPagesPerInvocation}',
      CHIME_LIFECYCLE_SYNC_RETRY_BASE_SECONDS: '${param:syncRetryBaseSeconds}',
      CHIME_LIFECYCLE_SYNC_RETRY_CAP_SECONDS: '${param:syncRetryCapSeconds}',
      CHIME_LIFECYCLE_ONBOARDING_RETRY_BASE_SECONDS: '${param:onboardingRetryBaseSeconds}',
      CHIME_LIFECYCLE_ONBOARDING_RETRY_CAP_SECONDS: '${param:onboardingRetryCapSeconds}',
      CHIME_LIFECYCLE_ACTIVITY_RETRY_BASE_SECONDS: '${param:activityRetryBaseSeconds}',
      CHIME_LIFECYCLE_ACTIVITY_RETRY_CAP_SECONDS: '${param:activityRetryCapSeconds}',
      CHIME_LIFECYCLE_ONBOARDING_POLICY_CACHE_SECONDS: '${param:onboardingPolicyCacheSeconds}',
      CHIME_LIFECYCLE_ONBOARDING_IDEMPOTENCY_TTL_SECONDS: '${param:onboardingIdempotencyTtlSeconds}',
      CHIME_LIFECYCLE_ACCOUNT_QUOTA_SHARE: '${param:accountQuotaCap}',
      CHIME_LIFECYCLE_QUOTA_COORDINATION: 'on',
      CHIME_LIFECYCLE_QUOTA_LEASE_SECONDS: '${param:quotaLeaseSeconds}',
      // Only schedule-sync and policy-changed would otherwise run at the default fallback share; they make no
      // Chime calls, the value just keeps every function's configuration explicit.
      CHIME_LIFECYCLE_QUOTA_FALLBACK_SHARE: '0.1',
      POWERTOOLS_SERVICE_NAME: '${self:service}',
      POWERTOOLS_METRICS_NAMESPACE: 'ChimeLifecycle',
      POWERTOOLS_LOG_LEVEL: '${param:logLevel}',
      // Only matters with sourceMaps=true: without a map Node has nothing to apply.
      NODE_OPTIONS: '--enable-source-maps',
    },
  },

  // One entry per declaration (handler, description, timeout, environment, trigger): infra/functions.ts.
  functions,

  // Serverless merges the list: the shared resources, then what the declarations make (one role per
  // function, with only what its declaration grants; the queue policies that let the rules dead-letter; the
  // monitoring that names every function).
  resources: [
    '${file(./infra/resources.yml)}',
    {
      Resources: {
        ...roles,
        ...queuePolicies,
        LambdaThrottlesAlarm: lambdaThrottlesAlarm(FUNCTIONS),
        Dashboard: dashboard(FUNCTIONS),
      },
      Outputs: tenantAccessOutput(FUNCTIONS),
    },
  ],
};
