import { z } from 'zod';
import { runCountersSchema } from './run';

/**
 * The contracts of the lifecycle events on the bus: one zod schema per `detail-type`. They are the source of
 * the JSON Schema files under docs/events/ (`npm run events:schemas`), and the events adapter validates
 * every event against them before PutEvents, so nothing leaves that a consumer's schema would refuse.
 * No detail carries a user's name or metadata.
 */

const runFinished = <State extends string>(state: State) =>
  z.strictObject({
    tenantId: z.string().min(1),
    runId: z.string().min(1),
    state: z.literal(state),
    policyVersion: z.number().int().min(1),
    counters: runCountersSchema,
    reason: z.string().optional(),
  });

const nullableString = z.string().min(1).nullable();
const expirationDays = z.number().int().min(1).max(5475).nullable();

const isoInstant = z.iso.datetime();
const horizonDays = z.number().int().min(1).max(365);

const userRemoved = <Reason extends string>(reason: Reason) =>
  z.strictObject({
    tenantId: z.string().min(1),
    appInstanceUserArn: z.string().min(1),
    appInstanceUserId: z.string().min(1),
    reason: z.literal(reason),
    /** When Chime removed the user (the CloudTrail event's time). */
    at: isoInstant,
    /** Whether the ledger had an entry to mark gone (false: a user chime-lifecycle had not seen yet). */
    ledgerMarked: z.boolean(),
  });

export const EVENT_DETAIL_SCHEMAS = {
  'Tenant Run Completed': runFinished('completed'),
  'Tenant Run Held': runFinished('held'),
  'Tenant Run Failed': runFinished('failed'),
  'User Rescued': z.strictObject({
    tenantId: z.string().min(1),
    runId: z.string().min(1),
    appInstanceUserArn: z.string().min(1),
    ruleId: nullableString,
    expirationDays,
  }),
  'User Onboarded': z.strictObject({
    tenantId: z.string().min(1),
    appInstanceUserId: z.string().min(1),
    appInstanceUserArn: z.string().min(1),
    requestId: nullableString,
    result: z.enum(['created', 'converged']),
    ruleId: nullableString,
    expirationDays,
    policyVersion: z.number().int().min(1),
    changed: z.array(z.enum(['name', 'metadata', 'expiration'])),
  }),
  'Plan Applied': z.strictObject({
    tenantId: z.string().min(1),
    /** The applied plan file's seal: which reviewed plan this was. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    policyVersion: z.number().int().min(1),
    generatedAt: z.string().min(1),
    applied: z.number().int().min(0),
    skipped: z.number().int().min(0),
    drifted: z.number().int().min(0),
  }),
  'Exemption Ending': z.strictObject({
    tenantId: z.string().min(1),
    exemptionId: z.string().min(1),
    until: z.string().min(1),
    owner: z.string().min(1),
    policyVersion: z.number().int().min(1),
  }),
  'Onboarding Request Rejected': z.strictObject({
    reason: z.string().min(1),
    detail: z.string(),
    messageId: z.string().min(1),
    tenantId: nullableString,
    appInstanceUserId: nullableString,
    requestId: nullableString,
  }),
  /** A managed user's expiry is within a warning horizon: sent once per horizon per expiry instant. */
  'User Expiring Soon': z.strictObject({
    tenantId: z.string().min(1),
    appInstanceUserId: z.string().min(1),
    expiresAt: isoInstant,
    horizonDays: horizonDays,
    ruleId: nullableString,
  }),
  /** One per run of a notifying policy: how many users are within each horizon, and the first 100 of them. */
  'Tenant Expiry Digest': z.strictObject({
    tenantId: z.string().min(1),
    runId: z.string().min(1),
    at: isoInstant,
    horizons: z
      .array(z.strictObject({ days: horizonDays, users: z.number().int().min(0) }))
      .min(1)
      .max(5),
    /** Soonest expiry first, at most 100. */
    userIds: z.array(z.string().min(1)).max(100),
    truncated: z.boolean(),
  }),
  /** Chime's expiry sweeper deleted a user (CloudTrail ExpireAppInstanceUser); the ledger marks it gone. */
  'User Expired': userRemoved('expired'),
  /** Someone called DeleteAppInstanceUser (CloudTrail); the ledger marks the user gone. */
  'User Deleted': userRemoved('deleted'),
} as const;

export type EventType = keyof typeof EVENT_DETAIL_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_DETAIL_SCHEMAS) as EventType[];

/** A lifecycle event: its type and the detail its schema describes. */
export type LifecycleEvent = {
  [Type in EventType]: { readonly type: Type; readonly detail: z.infer<(typeof EVENT_DETAIL_SCHEMAS)[Type]> };
}[EventType];

/** Where lifecycle events go: the EventBridge bus (shared/aws/events.ts), or a fake in tests. */
export interface EventSink {
  publish(events: readonly LifecycleEvent[]): Promise<void>;
}

/** Throws a description (paths and rules, never values) when an event breaks its contract. */
export function assertValidEvent(event: LifecycleEvent): void {
  const result = EVENT_DETAIL_SCHEMAS[event.type].safeParse(event.detail);
  if (!result.success) {
    const problems = result.error.issues
      .map((issue) => `${issue.path.join('.') || '(detail)'}: ${issue.message}`)
      .join('; ');
    throw new Error(`event "${event.type}" breaks its contract: ${problems}`);
  }
}
