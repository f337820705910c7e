import type { LifecycleEvent } from '../contracts/lifecycle-events';
import type { Log } from '../contracts/log';
import { type OnboardRequest, parseOnboardMessage, type RequestIdentifiers } from './message';
import type { OnboardOutcome } from './onboard-request';
import { onboardingKey } from './token';

/** One delivery of an onboarding message, as the queue driver gives it. */
export interface OnboardingDelivery {
  readonly messageId: string;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  readonly attempt: number;
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
  readonly log: Log;
}

export interface MessageResult {
  readonly outcome: OnboardOutcome;
  readonly replayed: boolean;
}

/**
 * Handles one valid onboarding request under its key (the request's ClientRequestToken), so every delivery
 * of the same request (a redelivery, a duplicate message, a redrive) is one request. What cannot succeed is
 * thrown as an OnboardingRejection (a TerminalError: the queue driver dead-letters it at once); anything
 * else thrown is retried by the driver with backoff.
 *
 * Logs carry identifiers (message id, tenant, user id, requestId), never name or metadata.
 */
export async function processOnboardingRequest(
  request: OnboardRequest,
  delivery: OnboardingDelivery,
  deps: MessageDeps,
): Promise<MessageResult> {
  const { outcome, replayed } = await deps.onboardOnce(request, onboardingKey(request));
  if (replayed) {
    deps.log.info('duplicate onboarding request: already done, nothing repeated', {
      ...identify(delivery, request),
      result: outcome.result,
    });
  }
  return { outcome, replayed };
}

/** Why an onboarding body is invalid, in the terms `parseOnboardMessage` gives (never a value from it). */
export function describeInvalidOnboarding(body: string): { reason: string; detail: string } {
  const parsed = parseOnboardMessage(body);
  return parsed.ok
    ? { reason: 'invalid-message', detail: 'the message does not match its schema' }
    : { reason: parsed.reason, detail: parsed.detail };
}

/**
 * `Onboarding Request Rejected` for a dead-lettered message: identifiers only, and for a message that failed
 * validation only those that are valid by their own rule.
 */
export function rejectedEvent(
  body: string,
  messageId: string,
  reason: string,
  detail: string,
): LifecycleEvent {
  const parsed = parseOnboardMessage(body);
  const request: RequestIdentifiers = parsed.ok ? parsed.request : parsed.identifiers;
  return {
    type: 'Onboarding Request Rejected',
    detail: {
      reason,
      detail,
      messageId,
      tenantId: request.tenantId ?? null,
      appInstanceUserId: request.appInstanceUserId ?? null,
      requestId: request.requestId ?? null,
    },
  };
}

function identify(delivery: OnboardingDelivery, request: RequestIdentifiers): Record<string, unknown> {
  return {
    messageId: delivery.messageId,
    receiveCount: delivery.attempt,
    ...(request.tenantId === undefined ? {} : { tenantId: request.tenantId }),
    ...(request.appInstanceUserId === undefined ? {} : { appInstanceUserId: request.appInstanceUserId }),
    ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
  };
}
