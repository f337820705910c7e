/** What every resource's operations share: the implementation type, page parameters and timestamps. */
import type { IdentityStore } from '../store';
import type { InputOf, OperationName, OutputOf } from './types';

/** One operation: the store, and a request already validated against the model. */
export type OperationImpl<N extends OperationName> = (store: IdentityStore, input: InputOf<N>) => OutputOf<N>;

/** The implementations of some operations, each typed by its own request and response. */
export type Operations<N extends OperationName> = { readonly [K in N]: OperationImpl<K> };

const DEFAULT_MAX_RESULTS = 50;

/** A List operation's page size and continuation (an empty NextToken means none, as for AWS). */
export function pageRequest(input: { readonly MaxResults?: number; readonly NextToken?: string }): {
  maxResults: number;
  nextToken: string | undefined;
} {
  return { maxResults: input.MaxResults ?? DEFAULT_MAX_RESULTS, nextToken: input.NextToken || undefined };
}

/** rest-json timestamps are epoch seconds. */
export const seconds = (epochMs: number): number => epochMs / 1000;
