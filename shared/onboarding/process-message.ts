import type { LifecycleEvent } from '../contracts/lifecycle-events';
import type { Log } from '../contracts/log';
import type { TerminalError } from '../errors';
import { type OnboardRequest, type RejectionReason, type RequestIdentifiers, rejectionOf } from './message';
import type { OnboardOutcome } from './onboard-request';
import { OnboardingRejection } from './retry';
import { onboardingKey } from './token';

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
  messageId: string,
  deps: MessageDeps,
): Promise<MessageResult> {
  const { outcome, replayed } = await deps.onboardOnce(request, onboardingKey(request));
  if (replayed) {
    deps.log.info('duplicate onboarding request: already done, nothing repeated', {
      ...identify(messageId, request),
      result: outcome.result,
    });
  }
  return { outcome, replayed };
}

/** A body that breaks the onboarding schema, with the identifiers in it that are valid by their own rule. */
export class InvalidOnboardingRequest extends OnboardingRejection {
  override name = 'InvalidOnboardingRequest';
  constructor(
    reason: RejectionReason,
    detail: string,
    readonly identifiers: RequestIdentifiers,
  ) {
    super(reason, detail);
  }
}

/**
 * Why an onboarding body is invalid, from the issues of the queue driver's one parse, in the terms
 * `parseOnboardMessage` gives (never a value from it).
 */
export function describeInvalidOnboarding(
  body: unknown,
  issues: Parameters<typeof rejectionOf>[1],
): InvalidOnboardingRequest {
  const { reason, detail, identifiers } = rejectionOf(body, issues);
  return new InvalidOnboardingRequest(reason, detail, identifiers);
}

/**
 * `Onboarding Request Rejected` for a dead-lettered message: identifiers only, from the parsed request, or
 * for a body that failed validation only those that are valid by their own rule (none for invalid JSON).
 */
export function rejectedEvent(
  failure: TerminalError,
  messageId: string,
  request: OnboardRequest | undefined,
): LifecycleEvent {
  const identifiers: RequestIdentifiers =
    request ?? (failure instanceof InvalidOnboardingRequest ? failure.identifiers : {});
  return {
    type: 'Onboarding Request Rejected',
    detail: {
      reason: failure.reason,
      detail: failure.detail,
      messageId,
      tenantId: identifiers.tenantId ?? null,
      appInstanceUserId: identifiers.appInstanceUserId ?? null,
      requestId: identifiers.requestId ?? null,
    },
  };
}

function identify(messageId: string, request: RequestIdentifiers): Record<string, unknown> {
  return {
    messageId,
    ...(request.tenantId === undefined ? {} : { tenantId: request.tenantId }),
    ...(request.appInstanceUserId === undefined ? {} : { appInstanceUserId: request.appInstanceUserId }),
    ...(request.requestId === undefined ? {} : { requestId: request.requestId }),
  };
}
