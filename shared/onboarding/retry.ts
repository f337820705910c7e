import { MAX_VISIBILITY_SECONDS, type VisibilityBackoff } from '../backoff';
import { ChimeCallError, TerminalError } from '../errors';
import { QUEUE_SETTINGS } from '../queue-settings';
import type { RejectionReason } from './message';

/**
 * How long a failed message stays invisible before SQS delivers it again. A throttled or failing Chime
 * slows the queue down this way (the message waits) instead of being hammered by immediate retries.
 */
export type RetryBackoff = VisibilityBackoff;

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { baseSeconds: 2, capSeconds: 300 };

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

/** A request that can never succeed as sent: it goes to the DLQ at once, with the reason. */
export class OnboardingRejection extends TerminalError<RejectionReason> {
  override name = 'OnboardingRejection';
}

export type FailureVerdict =
  | { readonly action: 'retry' }
  | { readonly action: 'reject'; readonly reason: RejectionReason; readonly detail: string };

const RETRY: FailureVerdict = Object.freeze({ action: 'retry' });

const REJECTION_OF_KIND: Partial<Record<ChimeCallError['kind'], RejectionReason>> = {
  'bad-request': 'chime-bad-request',
  forbidden: 'chime-forbidden',
  'resource-limit': 'chime-resource-limit',
};

/**
 * What a failed Chime call means for an onboarding request. Whether it is terminal is the ChimeCallError's
 * own answer (shared/errors.ts, the one retry classification); this only names the rejection reason.
 */
export function chimeFailureVerdict(error: unknown): FailureVerdict {
  if (!(error instanceof ChimeCallError) || error.retryable) return RETRY;
  const reason = REJECTION_OF_KIND[error.kind] ?? 'chime-bad-request';
  return { action: 'reject', reason, detail: error.message };
}

/**
 * What any failure of a message's processing means: an OnboardingRejection (or a terminal Chime answer) is
 * final; everything else (Chime throttles and 5xx, DynamoDB and network errors, an idempotency record still
 * in progress elsewhere, a failed event publish) is retried with backoff.
 */
export function onboardingFailureVerdict(error: unknown): FailureVerdict {
  if (error instanceof OnboardingRejection) {
    return { action: 'reject', reason: error.reason, detail: error.detail };
  }
  return chimeFailureVerdict(error);
}
