import { visibilityDelaySeconds } from '../backoff';
import { RetryableError, safeErrorText } from '../errors';
import type { LifecycleEvent } from '../sync/events';
import type { EventSink, Log } from '../sync/ports';
import {
  type OnboardRequest,
  parseOnboardMessage,
  type RejectionReason,
  type RequestIdentifiers,
} from './message';
import type { OnboardOutcome } from './onboard-request';
import { onboardingFailureVerdict, type RetryBackoff } from './retry';
import { onboardingKey } from './token';

/** One delivery of an onboarding message, as the SQS record gives it. */
export interface OnboardingMessage {
  readonly messageId: string;
  readonly body: string;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  readonly receiveCount: number;
}

export interface MessageDeps {
  /**
   * Runs the request exactly once per key (the Powertools idempotency layer): `replayed` is true when an
   * earlier delivery already completed it and its stored outcome is returned without doing anything.
   */
  readonly onboardOnce: (
    request: OnboardRequest,
    key: string,
  ) => Promise<{ readonly outcome: OnboardOutcome; readonly replayed: boolean }>;
  /** Copies the message to the DLQ with the reason; the caller then reports it successful (SQS deletes it). */
  readonly deadLetter: (reason: RejectionReason, detail: string) => Promise<void>;
  /** Hides the message for this long (ChangeMessageVisibility) before SQS delivers it again. */
  readonly retryLater: (delaySeconds: number) => Promise<void>;
  readonly events: EventSink;
  readonly log: Log;
  readonly backoff: RetryBackoff;
  readonly random?: () => number;
}

export type MessageResult =
  | { readonly status: 'onboarded'; readonly outcome: OnboardOutcome; readonly replayed: boolean }
  | { readonly status: 'rejected'; readonly reason: RejectionReason; readonly detail: string };

/** Thrown to fail the record: SQS delivers it again after `delaySeconds` (or the queue's visibility timeout). */
export class RetryLaterError extends RetryableError {
  override name = 'RetryLaterError';
  constructor(
    readonly delaySeconds: number,
    options: { cause: unknown },
  ) {
    super(`will be retried in about ${delaySeconds} s: ${safeErrorText(options.cause)}`, options);
  }
}

/**
 * Handles one delivery of an onboarding message:
 * - valid, and onboarded now or earlier: success (SQS deletes it);
 * - can never succeed (malformed, unknown or disabled tenant, Chime 400/403/limit): copied to the DLQ with
 *   the reason, `Onboarding Request Rejected` published, success (so it is not retried in a loop);
 * - anything else: the message's visibility is set to a backoff on its receive count and RetryLaterError
 *   is thrown, so only this record fails; after the queue's receive limit SQS moves it to the DLQ.
 *
 * Logs carry identifiers (message id, tenant, user id, requestId) and reasons, never name or metadata.
 */
export async function processOnboardingMessage(
  message: OnboardingMessage,
  deps: MessageDeps,
): Promise<MessageResult> {
  const parsed = parseOnboardMessage(message.body);
  if (!parsed.ok) return reject(message, parsed.identifiers, parsed.reason, parsed.detail, deps);
  const { request } = parsed;
  try {
    const { outcome, replayed } = await deps.onboardOnce(request, onboardingKey(request));
    if (replayed) {
      deps.log.info('duplicate onboarding request: already done, nothing repeated', {
        ...identify(message, request),
        result: outcome.result,
      });
    }
    return { status: 'onboarded', outcome, replayed };
  } catch (error) {
    const verdict = onboardingFailureVerdict(error);
    if (verdict.action === 'reject') return reject(message, request, verdict.reason, verdict.detail, deps);
    const delaySeconds = visibilityDelaySeconds(message.receiveCount, deps.backoff, deps.random);
    try {
      await deps.retryLater(delaySeconds);
    } catch (visibilityError) {
      // The message still comes back, after the queue's own visibility timeout instead of the backoff.
      deps.log.warn('could not set the retry delay of an onboarding message', {
        ...identify(message, request),
        error: safeErrorText(visibilityError),
      });
    }
    deps.log.warn('onboarding request failed, will be retried', {
      ...identify(message, request),
      delaySeconds,
      error: safeErrorText(error),
    });
    throw new RetryLaterError(delaySeconds, { cause: error });
  }
}

async function reject(
  message: OnboardingMessage,
  request: RequestIdentifiers,
  reason: RejectionReason,
  detail: string,
  deps: MessageDeps,
): Promise<MessageResult> {
  // The DLQ copy is the durable record of the rejection: if it fails, the message fails and comes back.
  await deps.deadLetter(reason, detail);
  deps.log.warn('onboarding request rejected and sent to the DLQ', {
    ...identify(message, request),
    reason,
    detail,
  });
  try {
    await deps.events.publish([rejectedEvent(message, request, reason, detail)]);
  } catch (error) {
    // Failing the message now would dead-letter it a second time; the DLQ entry already says everything.
    deps.log.error('could not publish Onboarding Request Rejected', {
      ...identify(message, request),
      error: safeErrorText(error),
    });
  }
  return { status: 'rejected', reason, detail };
}

/** Identifiers only (for a message that failed validation, those that are valid by their own rule). */
function rejectedEvent(
  message: OnboardingMessage,
  request: RequestIdentifiers,
  reason: RejectionReason,
  detail: string,
): LifecycleEvent {
  return {
    type: 'Onboarding Request Rejected',
    detail: {
      reason,
      detail,
      messageId: message.messageId,
      tenantId: request.tenantId ?? null,
      appInstanceUserId: request.appInstanceUserId ?? null,
      requestId: request.requestId ?? null,
    },
  };
}

function identify(message: OnboardingMessage, request: RequestIdentifiers): Record<string, unknown> {
  return {
    messageId: message.messageId,
    receiveCount: message.receiveCount,
    ...(request.tenantId === undefined ? {} : { tenantId: request.tenantId }),
    ...(request.appInstanceUserId === undefined ? {} : { appInstanceUserId: request.appInstanceUserId }),
    ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
  };
}
