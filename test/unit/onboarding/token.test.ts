import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_REQUEST_TOKEN, onboardingKey } from '../../../shared/onboarding/token';

const base = { tenantId: 'acme', appInstanceUserId: 'user-1' };

describe('onboardingKey (ClientRequestToken and idempotency key)', () => {
  it('is deterministic and fits the ClientRequestToken rules', () => {
    const key = onboardingKey(base);
    expect(onboardingKey({ ...base })).toBe(key);
    expect(key).toMatch(CLIENT_REQUEST_TOKEN);
    expect(key).toHaveLength(43);
  });

  it('differs per requestId, per user and per tenant', () => {
    const keys = [
      onboardingKey(base),
      onboardingKey({ ...base, requestId: 'r1' }),
      onboardingKey({ ...base, requestId: 'r2' }),
      onboardingKey({ ...base, appInstanceUserId: 'user-2' }),
      onboardingKey({ ...base, tenantId: 'other' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('cannot be confused by moving characters between the parts', () => {
    expect(onboardingKey({ tenantId: 'a', appInstanceUserId: 'b.c' })).not.toBe(
      onboardingKey({ tenantId: 'a.b', appInstanceUserId: 'c' }),
    );
  });

  it('always satisfies 2-64 of [-_a-zA-Z0-9], whatever the input', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        (tenantId, userId, requestId) => {
          const key = onboardingKey({
            tenantId,
            appInstanceUserId: userId,
            ...(requestId === undefined ? {} : { requestId }),
          });
          expect(key).toMatch(CLIENT_REQUEST_TOKEN);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
