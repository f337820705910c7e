import { z } from 'zod';
import { PARAM_NAMES, type ParamName } from '../infra/params';
import queues from '../infra/queues.json' with { type: 'json' };
import tables from '../infra/tables.json' with { type: 'json' };

/**
 * What a function is, besides its handler: the one type of `functions/<name>/function.ts`. Both the deployed
 * template (serverless.ts, through infra/functions.ts) and the local stack (local/serverless-settings.ts,
 * local/stack-wiring.ts) are built from these declarations, so the two cannot drift.
 *
 * Resources are named by their logical id in the template (infra/resources.yml, infra/tables.json,
 * infra/queues.json), never by ARN: the template turns them into `Fn::GetAtt`s, the local stack into the
 * local names of the same tables and queues.
 */

/** Lambda's default is 128 MB; every function gets this unless its declaration says otherwise. */
export const DEFAULT_MEMORY_MB = 256;

/**
 * A setting that varies by stage: `${param:name}` in the template, locally the stage's value
 * (infra/params.ts).
 */
export interface ParamRef {
  readonly param: ParamName;
}

export function param(name: ParamName): ParamRef {
  return { param: name };
}

type TableId = keyof typeof tables;
type StreamTableId = {
  [K in TableId]: 'StreamSpecification' extends keyof (typeof tables)[K] ? K : never;
}[TableId];
type WorkQueueId = keyof typeof queues;
type DeadLetterQueueId = WorkQueueId extends `${infer Name}Queue` ? `${Name}DeadLetterQueue` : never;
/**
 * The queues where a trigger's failures end (the stream's on-failure destination, a rule's dead-letter queue)
 * are declared in infra/resources.yml only: no code reads their settings.
 */
export const FAILURE_QUEUE_IDS = ['PolicyStreamFailureQueue', 'UserRemovedDeadLetterQueue'] as const;
export type FailureQueueId = (typeof FAILURE_QUEUE_IDS)[number];
export type QueueId = WorkQueueId | DeadLetterQueueId | FailureQueueId;

const TABLE_IDS = Object.keys(tables) as [TableId, ...TableId[]];
const STREAM_TABLE_IDS = TABLE_IDS.filter((id) => 'StreamSpecification' in tables[id]) as [
  StreamTableId,
  ...StreamTableId[],
];
export const WORK_QUEUE_IDS = Object.keys(queues) as [WorkQueueId, ...WorkQueueId[]];
const QUEUE_IDS = [
  ...WORK_QUEUE_IDS,
  ...WORK_QUEUE_IDS.map((id) => id.replace(/Queue$/, 'DeadLetterQueue') as DeadLetterQueueId),
  ...FAILURE_QUEUE_IDS,
] as [QueueId, ...QueueId[]];

const paramRef = z.strictObject({ param: z.enum(PARAM_NAMES) });
const integer = (min: number, max: number) => z.number().int().min(min).max(max);
/** An integer in Lambda's range, or a stage parameter (checked against the range once resolved). */
const integerSetting = (min: number, max: number) => z.union([integer(min, max), paramRef]);

/** What a statement grants on: a resource of the template by logical id, a Chime ARN pattern, or "*". */
const resourceSchema = z.union([
  z.literal('*'),
  z.strictObject({ table: z.enum(TABLE_IDS) }),
  z.strictObject({ stream: z.enum(STREAM_TABLE_IDS) }),
  z.strictObject({ queue: z.enum(QUEUE_IDS) }),
  z.strictObject({ eventBus: z.literal('EventBus') }),
  // This account's AppInstances in both Chime SDK Identity Regions (app-instance/*, which IAM's `*` extends to
  // their users) or their users only (app-instance/*/user/*).
  z.strictObject({ chime: z.enum(['appInstances', 'appInstanceUsers']) }),
  // The tenants' roles in other accounts: the role ARNs of the stack parameter TenantAccessRoleArns. A
  // statement on them exists only while that list is not empty.
  z.strictObject({ roles: z.literal('TenantAccessRoleArns') }),
]);

const statementSchema = z.strictObject({
  sid: z.string().regex(/^[A-Za-z0-9]+$/, 'a Sid is letters and digits only'),
  actions: z
    .array(z.string().regex(/^[a-z0-9-]+:[A-Za-z0-9]+$/, 'an action is service:Operation, no wildcard'))
    .min(1)
    .readonly(),
  resource: resourceSchema,
});

const sqsTriggerSchema = z.strictObject({
  type: z.literal('sqs'),
  queue: z.enum(WORK_QUEUE_IDS),
  /** Messages per invocation; above 10 Lambda needs a batching window of at least 1 s. */
  batchSize: integerSetting(1, 10_000),
  /** How long Lambda gathers a batch (default 0). */
  maximumBatchingWindowSeconds: integerSetting(0, 300).optional(),
  /** Concurrent invocations the mapping may run (required: without it Lambda scales up to 1,000). */
  maximumConcurrency: integerSetting(2, 1_000),
  /** The handler returns `batchItemFailures` (the ReportBatchItemFailures function response type). */
  reportBatchItemFailures: z.boolean(),
});

const streamTriggerSchema = z.strictObject({
  type: z.literal('dynamodbStream'),
  table: z.enum(STREAM_TABLE_IDS),
  batchSize: integer(1, 10_000),
  batchWindowSeconds: integer(0, 300).optional(),
  startingPosition: z.enum(['LATEST', 'TRIM_HORIZON']),
  bisectBatchOnFunctionError: z.boolean(),
  /** -1: until the record expires. */
  maximumRetryAttempts: integer(-1, 10_000),
  /** -1: no limit; otherwise 60 s to 7 days. */
  maximumRecordAgeSeconds: z.union([z.literal(-1), integer(60, 604_800)]),
  /** Where Lambda reports a batch it gave up on (a queue of its own: no code reads it). */
  onFailure: z.strictObject({ queue: z.enum(FAILURE_QUEUE_IDS) }).optional(),
});

const scheduleTriggerSchema = z.strictObject({
  type: z.literal('schedule'),
  /** An EventBridge schedule expression (`rate(1 hour)`, `cron(...)`). */
  rate: z.union([z.string().regex(/^(rate|cron)\(.+\)$/), paramRef]),
  enabled: z.union([z.boolean(), paramRef]),
});

const eventBridgeTriggerSchema = z.strictObject({
  type: z.literal('eventBridge'),
  /** A rule on the account's default bus (where CloudTrail delivers AWS service events). */
  pattern: z.record(z.string(), z.unknown()),
  /**
   * EventBridge's retries of a delivery to the function that failed (the rule target's RetryPolicy; AWS's
   * default is 185 attempts over 24 h). Locally the rule retries a failing invocation by these, with backoff.
   */
  retryPolicy: z.strictObject({
    /** 60 s to 24 h. */
    maximumEventAgeSeconds: integer(60, 86_400),
    maximumRetryAttempts: integer(0, 185),
  }),
  /**
   * Lambda's retries of the asynchronous invocation when the function itself fails (its event invoke
   * configuration; AWS's default is 2 retries over 6 h).
   */
  functionErrorRetries: z.strictObject({
    maximumRetryAttempts: integer(0, 2),
    /** 60 s to 6 h. */
    maximumEventAgeSeconds: integer(60, 21_600),
  }),
  /**
   * Where an event ends when either gives up, so none is dropped: the rule target's DeadLetterConfig and the
   * function's on-failure destination (the function's role must grant sqs:SendMessage on it; the queue's
   * policy lets the rule send).
   */
  deadLetterQueue: z.enum(FAILURE_QUEUE_IDS),
});

export const triggerSchema = z.discriminatedUnion('type', [
  sqsTriggerSchema,
  streamTriggerSchema,
  scheduleTriggerSchema,
  eventBridgeTriggerSchema,
]);

export const functionDeclarationSchema = z.strictObject({
  /** The folder's name: functions/<name>/handler.ts exports `handler`. */
  name: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  description: z.string().min(1).max(256),
  timeoutSeconds: integer(1, 900),
  /** Default DEFAULT_MEMORY_MB. */
  memoryMb: integer(128, 10_240).optional(),
  /** Lambda's reserved concurrency for the function (none by default: the account's unreserved pool). */
  reservedConcurrency: integer(0, 1_000).optional(),
  /** Variables of this function only, over the service's (serverless.ts `provider.environment`). */
  environment: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.union([z.string(), paramRef])).optional(),
  trigger: triggerSchema,
  /** What the function's role allows besides writing its own logs (added for every function). */
  iam: z.array(statementSchema).readonly(),
});

export type FunctionDeclaration = z.infer<typeof functionDeclarationSchema>;
export type Trigger = FunctionDeclaration['trigger'];
export type IamStatement = FunctionDeclaration['iam'][number];
export type IamResource = IamStatement['resource'];

/** A declaration that does not hold: which function, which setting, what is wrong. */
export class FunctionDeclarationError extends Error {
  override name = 'FunctionDeclarationError';
}

/**
 * Checks a declaration when its module loads (a mistake stops `serverless package` and the local stack at
 * once, naming the setting) and keeps its literal types, so the list can be typed by name and trigger.
 */
export function defineFunction<const D extends FunctionDeclaration>(declaration: D): D {
  const parsed = functionDeclarationSchema.safeParse(declaration);
  if (!parsed.success) {
    throw new FunctionDeclarationError(
      `functions/${String(declaration.name)}/function.ts is not a valid declaration; fix it:\n${z.prettifyError(parsed.error)}`,
    );
  }
  return declaration;
}
