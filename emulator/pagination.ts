/**
 * Opaque, stable pagination: a NextToken is base64url JSON naming the list it belongs to and the last key
 * returned. The next page starts strictly after that key in the sorted key array, so inserts and deletes
 * between pages never skip or repeat the items that stay.
 */
import { badRequest } from './errors';

const TOKEN_VERSION = 1;

export function encodePageToken(scope: string, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: TOKEN_VERSION, s: scope, k: lastKey })).toString('base64url');
}

/** Returns the last key of the previous page; a token that is garbled or from another list is a 400. */
export function decodePageToken(token: string, scope: string): string {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('NextToken: is not a valid pagination token');
  }
  if (
    typeof decoded !== 'object' ||
    decoded === null ||
    (decoded as { v?: unknown }).v !== TOKEN_VERSION ||
    typeof (decoded as { k?: unknown }).k !== 'string'
  ) {
    throw badRequest('NextToken: is not a valid pagination token');
  }
  if ((decoded as { s?: unknown }).s !== scope) {
    throw badRequest('NextToken: belongs to a different list request');
  }
  return (decoded as { k: string }).k;
}

/** Index of the first element of `sorted` that is > key (when `inclusive` is false) or >= key. */
export function lowerBound(sorted: readonly string[], key: string, inclusive = true): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const value = sorted[mid] as string;
    if (value < key || (!inclusive && value === key)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Inserts into a sorted array unless present; returns whether it was inserted. */
export function insertSorted(sorted: string[], key: string): boolean {
  const index = lowerBound(sorted, key);
  if (sorted[index] === key) return false;
  if (index === sorted.length) sorted.push(key);
  else sorted.splice(index, 0, key);
  return true;
}

export function removeSorted(sorted: string[], key: string): boolean {
  const index = lowerBound(sorted, key);
  if (sorted[index] !== key) return false;
  sorted.splice(index, 1);
  return true;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextToken?: string;
}

/**
 * One page of `sorted` keys mapped through `load` (keys whose item vanished are skipped).
 * `scope` ties the token to the list (operation + parent ARN) it was issued for.
 */
export function pageOf<T>(
  sorted: readonly string[],
  scope: string,
  maxResults: number,
  nextToken: string | undefined,
  load: (key: string) => T | undefined,
): Page<T> {
  let index = nextToken ? lowerBound(sorted, decodePageToken(nextToken, scope), false) : 0;
  const items: T[] = [];
  let lastKey: string | undefined;
  while (index < sorted.length && items.length < maxResults) {
    const key = sorted[index++] as string;
    const item = load(key);
    if (item === undefined) continue;
    items.push(item);
    lastKey = key;
  }
  if (index < sorted.length && lastKey !== undefined) {
    return { items, nextToken: encodePageToken(scope, lastKey) };
  }
  return { items };
}
