import { describe, expect, it } from 'vitest';
import { constraintsFromModel } from '../../../scripts/generate-chime-constraints';
import { CHIME_CONSTRAINTS } from '../../../shared/onboarding/chime-constraints';
import { parseOnboardRequest } from '../../../shared/onboarding/message';

describe("the onboarding boundary's Chime constraints", () => {
  it('match the API model (regenerate with `npx tsx scripts/generate-chime-constraints.ts`)', () => {
    expect(CHIME_CONSTRAINTS).toEqual(constraintsFromModel());
  });

  const base = { tenantId: 'acme', appInstanceUserId: 'u-1', name: 'Ann' };
  it.each([
    ['a newline in the name', { name: 'Ann\nLee' }, 'name: must be on one line'],
    ['a carriage return in the name', { name: 'Ann\rLee' }, 'name: must be on one line'],
    ['a line separator in the name', { name: 'Ann\u2028Lee' }, 'name: must be on one line'],
    ['a lone surrogate in the name', { name: 'g\ud800' }, 'name: must be well-formed Unicode'],
    ['a newline in the metadata', { metadata: '{"a":\n1}' }, 'metadata: must be on one line'],
    ['a lone surrogate in the metadata', { metadata: '\udc00' }, 'metadata: must be well-formed Unicode'],
    [
      'a lone surrogate in a tag value',
      { tags: [{ Key: 'k', Value: '\ud800x' }] },
      'tags[0].Value: must be well-formed',
    ],
    ['a 101-character name', { name: 'x'.repeat(101) }, 'name: must be 1-100 characters'],
    ['a 65-character user id', { appInstanceUserId: 'u'.repeat(65) }, 'appInstanceUserId: must be 1-64'],
  ])('refuses %s at the boundary, naming the field and not the value', (_what, change, expected) => {
    const result = parseOnboardRequest({ ...base, ...change });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('invalid-message');
    expect(result.detail).toContain(expected);
    expect(result.detail).not.toContain('Ann');
  });

  it('accepts what Chime accepts: 100 astral characters, emoji, metadata with tabs', () => {
    expect(parseOnboardRequest({ ...base, name: '😀'.repeat(100), metadata: 'a\tb' }).ok).toBe(true);
  });
});
