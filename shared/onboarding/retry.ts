import { ChimeCallError, TerminalError } from '../errors';
import type { RejectionReason } from './message';

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
