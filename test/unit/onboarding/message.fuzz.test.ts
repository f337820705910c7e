import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  APP_INSTANCE_USER_ID,
  onboardRequestSchema,
  parseOnboardMessage,
  parseOnboardRequest,
} from '../../../shared/onboarding/message';

/** Distinctive strings: if one shows up in a rejection detail, the detail leaked a value. */
const SECRET_NAME = 'Zq7-SECRET-NAME';
const SECRET_METADATA = '{"Zq7":"SECRET-METADATA"}';

const validRequest = fc.record(
  {
    tenantId: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
    appInstanceUserId: fc.stringMatching(APP_INSTANCE_USER_ID),
    name: fc.string({ minLength: 1, maxLength: 100 }).filter((name) => /\S/.test(name)),
    metadata: fc.string({ maxLength: 1024 }),
    tags: fc.uniqueArray(
      fc.record({
        Key: fc.string({ minLength: 1, maxLength: 128 }),
        Value: fc.string({ minLength: 1, maxLength: 256 }),
      }),
      { minLength: 1, maxLength: 50, selector: (tag) => tag.Key },
    ),
    requestId: fc.stringMatching(/^[\x21-\x7E]{1,128}$/),
  },
  { requiredKeys: ['tenantId', 'appInstanceUserId', 'name'] },
);

/** Valid requests with one member broken or added, carrying the secret name and metadata. */
const nearlyValid = fc
  .tuple(
    validRequest,
    fc.constantFrom(
      'tenantId',
      'appInstanceUserId',
      'name',
      'metadata',
      'tags',
      'requestId',
      'appInstanceArn',
      'extra',
    ),
    fc.anything(),
  )
  .map(([request, key, value]) => ({
    ...request,
    name: SECRET_NAME,
    metadata: SECRET_METADATA,
    [key]: value,
  }));

function expectWellFormed(result: ReturnType<typeof parseOnboardRequest>): void {
  if (result.ok) {
    expect(onboardRequestSchema.safeParse(result.request).success).toBe(true);
    return;
  }
  expect(result.reason).toMatch(/^(invalid-json|invalid-message|app-instance-not-allowed)$/);
  expect(result.detail.length).toBeGreaterThan(0);
  expect(result.detail).not.toContain('SECRET');
}

/** Thousands of runs: generous, because a loaded shared machine can be slow (correctness, not speed). */
const FUZZ_TIMEOUT_MS = 60_000;

describe('the onboarding message boundary (fuzzed)', () => {
  it(
    'accepts every valid request as is',
    () => {
      fc.assert(
        fc.property(validRequest, (request) => {
          const result = parseOnboardMessage(JSON.stringify(request));
          expect(result).toEqual({ ok: true, request });
        }),
        { numRuns: 3_000 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'accepts or rejects with a reason every arbitrary JSON value, and never throws',
    () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          expectWellFormed(parseOnboardMessage(JSON.stringify(value)));
        }),
        { numRuns: 4_000 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'rejects arbitrary text that is not JSON, and never throws',
    () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (body) => {
          expectWellFormed(parseOnboardMessage(body));
        }),
        { numRuns: 2_000 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'rejects a broken member with its path, never quoting the name or metadata',
    () => {
      fc.assert(
        fc.property(nearlyValid, (value) => {
          const result = parseOnboardRequest(value);
          expectWellFormed(result);
          if ('appInstanceArn' in value)
            expect(result).toMatchObject({ ok: false, reason: 'app-instance-not-allowed' });
        }),
        { numRuns: 4_000 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('explains rejections by field path and rule', () => {
    expect(parseOnboardMessage('{')).toMatchObject({ ok: false, reason: 'invalid-json' });
    expect(parseOnboardRequest({ tenantId: 'a', name: 'n' })).toMatchObject({
      ok: false,
      reason: 'invalid-message',
      detail: 'appInstanceUserId: required (a string)',
      identifiers: { tenantId: 'a' },
    });
    expect(parseOnboardRequest({ tenantId: 'a', appInstanceUserId: 'u', name: '   ' })).toMatchObject({
      detail: 'name: must be on one line (no line breaks) and contain a character other than white space',
    });
    expect(
      parseOnboardRequest({
        tenantId: 'a',
        appInstanceUserId: 'u',
        name: 'n',
        tags: [
          { Key: 'k', Value: 'v' },
          { Key: 'k', Value: 'w' },
        ],
      }),
    ).toMatchObject({ detail: 'tags: tag keys must be unique' });
    expect(
      parseOnboardRequest({ tenantId: 'a', appInstanceUserId: 'u', name: 'x'.repeat(101), metadata: 7 }),
    ).toMatchObject({ detail: 'name: must be 1-100 characters; metadata: must be a string' });
    expect(
      parseOnboardRequest({
        tenantId: 'a',
        appInstanceUserId: 'u',
        name: 'n',
        appInstanceArn: 'arn:x',
        z: 1,
      }),
    ).toEqual({
      ok: false,
      reason: 'app-instance-not-allowed',
      detail:
        "appInstanceArn: not accepted; the AppInstance is the one in the tenant's policy; (root): unknown key(s) at position(s) 5 (keys are not echoed: they may hold personal data)",
      identifiers: { tenantId: 'a', appInstanceUserId: 'u' },
    });
  });

  it('counts lengths in code points, as the Chime model does', () => {
    const name = '😀'.repeat(100); // 200 UTF-16 units, 100 characters
    expect(parseOnboardRequest({ tenantId: 'a', appInstanceUserId: 'u', name }).ok).toBe(true);
    expect(parseOnboardRequest({ tenantId: 'a', appInstanceUserId: 'u', name: `${name}x` }).ok).toBe(false);
  });
});
