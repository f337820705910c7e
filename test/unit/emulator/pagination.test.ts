import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../emulator/errors';
import {
  decodePageToken,
  encodePageToken,
  insertSorted,
  lowerBound,
  pageOf,
  removeSorted,
} from '../../../emulator/pagination';

describe('page tokens', () => {
  it('round-trips the last key for the same list', () => {
    const token = encodePageToken('ListAppInstanceUsers arn:a', 'user/ü:1');
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, 'ListAppInstanceUsers arn:a')).toBe('user/ü:1');
  });

  it('rejects garbled tokens and tokens of another list with BadRequest', () => {
    const token = encodePageToken('scope-a', 'k');
    for (const [bad, scope] of [
      ['%%%', 'scope-a'],
      [Buffer.from('{"v":9,"s":"scope-a","k":"k"}').toString('base64url'), 'scope-a'],
      [token, 'scope-b'],
    ] as const) {
      let caught: unknown;
      try {
        decodePageToken(bad, scope);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ApiError);
      expect((caught as ApiError).exception).toBe('BadRequestException');
    }
  });
});

describe('sorted keys', () => {
  it('inserts and removes keeping order and uniqueness', () => {
    const keys: string[] = [];
    for (const key of ['m', 'a', 'z', 'm', 'b']) insertSorted(keys, key);
    expect(keys).toEqual(['a', 'b', 'm', 'z']);
    expect(removeSorted(keys, 'm')).toBe(true);
    expect(removeSorted(keys, 'q')).toBe(false);
    expect(keys).toEqual(['a', 'b', 'z']);
    expect(lowerBound(keys, 'b')).toBe(1);
    expect(lowerBound(keys, 'b', false)).toBe(2);
  });

  it('pages after the last seen key even when it has been deleted', () => {
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const first = pageOf(keys, 's', 2, undefined, (key) => key);
    expect(first.items).toEqual(['a', 'b']);
    removeSorted(keys, 'b');
    insertSorted(keys, 'bb');
    const second = pageOf(keys, 's', 2, first.nextToken, (key) => key);
    expect(second.items).toEqual(['bb', 'c']);
    const third = pageOf(keys, 's', 2, second.nextToken, (key) => key);
    expect(third).toEqual({ items: ['d', 'e'] });
  });

  it('skips keys whose item is gone and gives no token at the end', () => {
    const page = pageOf(['a', 'b', 'c'], 's', 5, undefined, (key) => (key === 'b' ? undefined : key));
    expect(page).toEqual({ items: ['a', 'c'] });
  });
});
