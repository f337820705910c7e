import { createHash } from 'node:crypto';
import type { OnboardRequest } from './message';

/** Chime's ClientRequestToken: 2-64 characters of `[-_a-zA-Z0-9]`. */
export const CLIENT_REQUEST_TOKEN = /^[-_a-zA-Z0-9]{2,64}$/;

/** Bump when the material changes, so tokens of the old and the new derivation can never collide. */
const DERIVATION = 'chime-lifecycle/onboard/v1';

/**
 * The one key of an onboarding request, used both as Chime's ClientRequestToken and as the Powertools
 * idempotency key: every delivery of the same request (a redelivery, a duplicate message, a redrive) gets
 * the same key, so Chime and the idempotency table both recognise it as the same request.
 *
 * The key covers who is created (tenant, user id) and, when the producer sends one, its requestId; it does
 * not cover name, metadata or tags, so two messages for the same user that differ only there are still one
 * request (the first one processed wins; send a new requestId to change a user on purpose).
 * base64url(sha256(...)) is 43 characters of exactly the token's alphabet; the JSON array keeps the parts
 * apart (no separator in a tenant or user id can make two different requests hash the same material).
 */
export function onboardingKey(
  request: Pick<OnboardRequest, 'tenantId' | 'appInstanceUserId' | 'requestId'>,
): string {
  const material = JSON.stringify([
    DERIVATION,
    request.tenantId,
    request.appInstanceUserId,
    request.requestId ?? null,
  ]);
  return createHash('sha256').update(material).digest('base64url');
}
