import { describe, expect, it } from 'vitest';
import { cloudTrailEntry } from '../../../emulator';
import userRemoved from '../../../functions/user-removed/function';
import { matchesPattern, validatePattern } from '../../../local/event-pattern';

const envelope = (detailType: string, detail: unknown, source = 'aws.chime') => ({
  version: '0',
  id: 'x',
  'detail-type': detailType,
  source,
  account: '123456789012',
  time: '2026-12-01T00:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail,
});

const USER = 'arn:aws:chime:us-east-1:123456789012:app-instance/app/user/u1';

describe('matchesPattern (EventBridge semantics)', () => {
  it('matches any listed value, nested objects, and array fields by any element', () => {
    const pattern = { source: ['a', 'b'], detail: { tags: ['x'] } };
    expect(matchesPattern(pattern, { source: 'b', detail: { tags: ['y', 'x'] } })).toBe(true);
    expect(matchesPattern(pattern, { source: 'c', detail: { tags: ['x'] } })).toBe(false);
    expect(matchesPattern(pattern, { source: 'a', detail: { tags: 'y' } })).toBe(false);
    expect(matchesPattern(pattern, { source: 'a' })).toBe(false);
  });

  it('ignores fields the pattern does not name', () => {
    expect(matchesPattern({ source: ['a'] }, { source: 'a', other: 1 })).toBe(true);
  });

  it('supports exists, prefix, suffix, anything-but, numeric, equals-ignore-case, wildcard and $or', () => {
    expect(matchesPattern({ e: [{ exists: false }] }, {})).toBe(true);
    expect(matchesPattern({ e: [{ exists: false }] }, { e: 'x' })).toBe(false);
    expect(matchesPattern({ e: [{ exists: true }] }, { e: 'x' })).toBe(true);
    expect(matchesPattern({ e: [{ exists: true }] }, {})).toBe(false);
    expect(matchesPattern({ e: [{ prefix: 'ab' }] }, { e: 'abc' })).toBe(true);
    expect(matchesPattern({ e: [{ suffix: 'bc' }] }, { e: 'abc' })).toBe(true);
    expect(matchesPattern({ e: [{ 'anything-but': ['a', 'b'] }] }, { e: 'c' })).toBe(true);
    expect(matchesPattern({ e: [{ 'anything-but': 'a' }] }, { e: 'a' })).toBe(false);
    expect(matchesPattern({ e: [{ 'anything-but': { prefix: 'a' } }] }, { e: 'ab' })).toBe(false);
    expect(matchesPattern({ e: [{ numeric: ['>', 0, '<=', 5] }] }, { e: 5 })).toBe(true);
    expect(matchesPattern({ e: [{ numeric: ['>', 0, '<=', 5] }] }, { e: 6 })).toBe(false);
    expect(matchesPattern({ e: [{ 'equals-ignore-case': 'AbC' }] }, { e: 'aBc' })).toBe(true);
    expect(matchesPattern({ e: [{ wildcard: 'a*c' }] }, { e: 'abbc' })).toBe(true);
    expect(matchesPattern({ $or: [{ a: [1] }, { b: [2] }] }, { b: 2 })).toBe(true);
    expect(matchesPattern({ $or: [{ a: [1] }, { b: [2] }] }, { b: 3 })).toBe(false);
    expect(matchesPattern({ e: [null] }, { e: null })).toBe(true);
  });

  it('rejects what EventBridge would refuse, with the path', () => {
    expect(validatePattern({ source: [] })).toEqual(['source: must not be an empty array']);
    expect(validatePattern({ detail: { x: 'a' } })).toEqual([
      'detail.x: must be an array of matchers or a nested object',
    ]);
    expect(validatePattern({ x: [{ exists: 'yes' }] })).toEqual(['x[0].exists: must be true or false']);
    expect(validatePattern({ x: [{ cidr: '10.0.0.0/8' }] })[0]).toMatch(/^x\[0\]: must have exactly one of/);
    expect(validatePattern(userRemoved.trigger.pattern)).toEqual([]);
  });
});

describe("user-removed's rule (functions/user-removed/function.ts)", () => {
  const pattern = userRemoved.trigger.pattern;
  const where = { region: 'us-east-1', accountId: '123456789012' };
  const asDelivered = (entry: ReturnType<typeof cloudTrailEntry>) =>
    envelope(entry.DetailType, JSON.parse(entry.Detail), entry.Source);

  it('matches the CloudTrail events of an expiry and of a delete, as the emulator produces them', () => {
    expect(matchesPattern(pattern, asDelivered(cloudTrailEntry(USER, 'expired', Date.now(), where)))).toBe(
      true,
    );
    expect(matchesPattern(pattern, asDelivered(cloudTrailEntry(USER, 'deleted', Date.now(), where)))).toBe(
      true,
    );
  });

  it('ignores failed calls, other Chime operations and other sources', () => {
    const failed = envelope('AWS API Call via CloudTrail', {
      eventSource: 'chime.amazonaws.com',
      eventName: 'DeleteAppInstanceUser',
      errorCode: 'NotFoundException',
    });
    expect(matchesPattern(pattern, failed)).toBe(false);
    const other = envelope('AWS API Call via CloudTrail', {
      eventSource: 'chime.amazonaws.com',
      eventName: 'DeleteAppInstanceBot',
    });
    expect(matchesPattern(pattern, other)).toBe(false);
    const foreign = envelope(
      'AWS API Call via CloudTrail',
      { eventSource: 'chime.amazonaws.com', eventName: 'DeleteAppInstanceUser' },
      'aws.s3',
    );
    expect(matchesPattern(pattern, foreign)).toBe(false);
  });
});
