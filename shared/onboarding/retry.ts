import { ChimeSDKIdentityServiceException } from '@aws-sdk/client-chime-sdk-identity';
import { QUEUE_SETTINGS } from '../aws/queues';
import { MAX_VISIBILITY_SECONDS, retryVisibilitySeconds } from '../backoff';
import { classifyChimeError } from '../chime/errors';
import type { RejectionReason } from './message';

/**
 * How long a failed message stays invisible before SQS delivers it again. A throttled or failing Chime
 * slows the queue down this way (the message waits) instead of being hammered by immediate retries.
 */
export interface RetryBackoff {
  readonly baseSeconds: number;
  readonly capSeconds: number;
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { baseSeconds: 2, capSeconds: 300 };

export { MAX_VISIBILITY_SECONDS };

/**
 * Throws when a backoff could hide a message for longer than SQS keeps it: with 8 receives and a 5 minute
 * cap a message lives well under an hour of backoff, against 14 days of retention.
 */
export function checkRetryBackoff(backoff: RetryBackoff): RetryBackoff {
  const { baseSeconds, capSeconds } = backoff;
  if (!(Number.isFinite(baseSeconds) && baseSeconds >= 1)) {
    throw new RangeError(`retry base must be at least 1 second, got ${baseSeconds}`);
  }
  if (!(Number.isFinite(capSeconds) && capSeconds >= baseSeconds && capSeconds <= MAX_VISIBILITY_SECONDS)) {
    throw new RangeError(
      `retry cap must be between the base (${baseSeconds} s) and ${MAX_VISIBILITY_SECONDS} s, got ${capSeconds}`,
    );
  }
  const { maxReceiveCount, messageRetentionPeriodSeconds } = QUEUE_SETTINGS.onboarding;
  if (capSeconds * maxReceiveCount >= messageRetentionPeriodSeconds) {
    throw new RangeError(
      `retry cap ${capSeconds} s × ${maxReceiveCount} receives would outlast the queue's retention`,
    );
  }
  return backoff;
}

/** The visibility timeout for a message that failed on its `receiveCount`-th delivery (shared/backoff.ts). */
export function retryDelaySeconds(
  receiveCount: number,
  backoff: RetryBackoff,
  random: () => number = Math.random,
): number {
  return retryVisibilitySeconds(receiveCount, backoff, random);
}

/** A request that can never succeed as sent: it goes to the DLQ at once, with the reason. */
export class OnboardingRejection extends Error {
  override name = 'OnboardingRejection';
  constructor(
    readonly reason: RejectionReason,
    /** Field paths, rule and error names only: never a user's name or metadata. */
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

export type FailureVerdict =
  | { readonly action: 'retry' }
  | { readonly action: 'reject'; readonly reason: RejectionReason; readonly detail: string };

const RETRY: FailureVerdict = Object.freeze({ action: 'retry' });

/**
 * What a failed Chime call means for an onboarding request. Only answers that repeat the same way on every
 * attempt reject the request: the request is malformed for Chime (400), we may not do it (403), or the
 * AppInstance is full (ResourceLimitExceeded). Throttles, 5xx and timeouts are retried; so are
 * 401 (credentials can be refreshed), 404 (a user deleted while we converged it is created again on the
 * retry), 409 (a conflict that survived convergence) and anything unrecognised — retrying wrongly only
 * costs receives, and SQS's redrive policy still moves the message to the DLQ after the receive limit,
 * whereas rejecting wrongly would make a transient fault look like a bad request.
 */
export function chimeFailureVerdict(error: unknown, operation: string): FailureVerdict {
  if (!(error instanceof ChimeSDKIdentityServiceException)) return RETRY;
  const kind = classifyChimeError(error);
  const reason: RejectionReason | undefined =
    kind === 'bad-request'
      ? 'chime-bad-request'
      : kind === 'forbidden'
        ? 'chime-forbidden'
        : kind === 'resource-limit'
          ? 'chime-resource-limit'
          : undefined;
  if (!reason) return RETRY;
  return { action: 'reject', reason, detail: `${operation}: ${describeFailure(error)}` };
}

/**
 * What any failure of a message's processing means: an OnboardingRejection is final; everything else
 * (Chime throttles and 5xx, DynamoDB and network errors, an idempotency record still in progress elsewhere,
 * a failed event publish) is retried with backoff.
 */
export function onboardingFailureVerdict(error: unknown): FailureVerdict {
  if (error instanceof OnboardingRejection) {
    return { action: 'reject', reason: error.reason, detail: error.detail };
  }
  return RETRY;
}

/**
 * One line about an error, safe for logs and DLQ attributes. Chime's own messages are left out: a
 * validation message may quote the Name or Metadata it refused, and those are personal data; the exception
 * name and HTTP status say what happened. Other errors (DynamoDB, SQS, network) never see a user's name or
 * metadata, so their messages are kept.
 */
export function describeFailure(error: unknown): string {
  if (error instanceof ChimeSDKIdentityServiceException) {
    const status = error.$metadata?.httpStatusCode;
    return `${error.name}${status === undefined ? '' : ` (HTTP ${status})`}`;
  }
  if (error instanceof Error) {
    const cause = error.cause === undefined ? '' : ` (cause: ${describeFailure(error.cause)})`;
    return `${error.name}: ${error.message.slice(0, 300)}${cause}`;
  }
  return String(error).slice(0, 300);
}
