import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { type VisibilityBackoff, visibilityDelaySeconds } from '../backoff';
import { RetryableError, TerminalError } from '../errors';

/**
 * What the queue driver (queue-driver.ts) does to a record before and around its handler: parsing it once,
 * describing why a body is invalid, and the invocation's deadline.
 */

/** A body's zod issues, as the one parse found them. */
export type BodyIssues = readonly z.core.$ZodIssue[];

/**
 * Says why a parsed body does not match its schema, from the issues of the one parse (never parsing again):
 * a TerminalError whose reason and detail go to the DLQ. Paths and rules only, never a value: bodies may
 * hold personal data.
 */
export type InvalidBodyDescriber = (body: unknown, issues: BodyIssues) => TerminalError;

/** One record after its single parse. */
export type ParsedRecord<Message> =
  | { readonly kind: 'valid'; readonly message: Message }
  | { readonly kind: 'invalid'; readonly failure: TerminalError }
  /** The record itself is not what Lambda sends (not the message's fault: it is failed and comes back). */
  | { readonly kind: 'malformed' };

/** The envelope through the Powertools parser; the body's JSON parsed once, its schema checked after. */
const envelopeSchema = SqsRecordSchema.extend({ body: JSONStringified(z.unknown()) });

export function parseRecord<Message>(
  record: SQSRecord,
  schema: z.ZodType<Message>,
  describe: InvalidBodyDescriber,
): ParsedRecord<Message> {
  const envelope = envelopeSchema.safeParse(record);
  if (!envelope.success) {
    if (envelope.error.issues.some((issue) => issue.path[0] !== 'body')) return { kind: 'malformed' };
    return {
      kind: 'invalid',
      failure: new TerminalError('invalid-json', 'the message body is not valid JSON'),
    };
  }
  const parsed = schema.safeParse(envelope.data.body);
  return parsed.success
    ? { kind: 'valid', message: parsed.data }
    : { kind: 'invalid', failure: describe(envelope.data.body, parsed.error.issues) };
}

/** The default describer: the first five issues as `path: rule`; unknown keys are not named. */
export const describeInvalidBody: InvalidBodyDescriber = (_body, issues) => {
  const detail = issues
    .slice(0, 5)
    .map(
      (issue) =>
        `${issue.path.join('.') || '(root)'}: ${issue.code === 'unrecognized_keys' ? 'unknown key(s)' : issue.message}`,
    )
    .join('; ');
  return new TerminalError('invalid-message', detail || 'the message does not match its schema');
};

/**
 * The reason a deadline signal aborts with: the invocation is about to run out of time, and work not yet
 * started (or still waiting for rate tokens) is handed back to the queue. Not the message's fault.
 */
export class DeadlineReachedError extends RetryableError {
  override name = 'DeadlineReachedError';
}

/** Whether `error` is (or was caused by) the abort of `deadline`. */
export function isDeadlineAbort(error: unknown, deadline: AbortSignal): boolean {
  if (!deadline.aborted) return false;
  for (let cause = error; cause !== undefined && cause !== null; cause = (cause as Error).cause) {
    if (cause === deadline.reason) return true;
    if (!(cause instanceof Error)) return false;
  }
  return false;
}

/**
 * The margin kept at the end of an invocation when none is configured: a fifth of the time the invocation
 * had when it started (its function's timeout), from 1 s to 60 s. Onboarding's 120 s give 24 s, enough for
 * what of a record cannot be stopped at the deadline (one Chime attempt already sent, up to its 10 s request
 * timeout, after up to 5 s of SDK backoff; its DynamoDB and EventBridge writes; the driver's own SQS calls).
 */
export function defaultDeadlineMarginMs(invocationMs: number): number {
  return Math.min(60_000, Math.max(1_000, invocationMs / 5));
}

/** A record handed back at the deadline comes back after 2-4 s (equal jitter): soon, and spread out. */
export const DEFERRED_VISIBILITY: VisibilityBackoff = { baseSeconds: 4, capSeconds: 4 };

export function deferredVisibilitySeconds(random: () => number = Math.random): number {
  return visibilityDelaySeconds(1, DEFERRED_VISIBILITY, random);
}

/**
 * The invocation's deadline: a signal that aborts when less than `marginMs` is left. The margin is never
 * more than half of the time the invocation had at its start, so a short function still takes records.
 * Without a Lambda clock (`remainingMs` undefined) there is no deadline.
 */
export function invocationDeadline(
  remainingMs: number | undefined,
  marginMs: number | undefined,
): { readonly signal: AbortSignal; readonly marginMs: number; clear(): void } {
  const controller = new AbortController();
  if (remainingMs === undefined || !Number.isFinite(remainingMs)) {
    return { signal: controller.signal, marginMs: 0, clear: () => {} };
  }
  const margin = Math.min(marginMs ?? defaultDeadlineMarginMs(remainingMs), remainingMs / 2);
  const reason = new DeadlineReachedError(
    `less than ${Math.round(margin)} ms of the invocation left: records not started are handed back`,
  );
  const timer = setTimeout(() => controller.abort(reason), Math.max(0, remainingMs - margin));
  return { signal: controller.signal, marginMs: margin, clear: () => clearTimeout(timer) };
}
