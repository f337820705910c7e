import DataLoader from 'dataloader';
import type { OnboardingLedger } from '../onboarding/ports';
import type { EventSink, LedgerEntry, LifecycleEvent } from '../sync/ports';

/** How a coalescer gathers calls into one request. */
export interface CoalesceOptions {
  /**
   * How long the first call of a batch waits for others before the batch is written. Default 5 ms: the
   * records of one SQS batch reach the same step within a few milliseconds of each other, and a record
   * waits at most this long per step.
   */
  readonly windowMs?: number;
  /** The most items one flush takes (the request's own limit, e.g. 100 for TransactWriteItems). */
  readonly maxItems: number;
}

/**
 * What a flush answers per item, in the order it was given: nothing for success, an Error for that item
 * alone (the others of the batch still succeed).
 */
export type FlushResult = readonly (undefined | Error)[];

/**
 * Gathers concurrent calls into batched requests: every `add(item)` resolves when the flush that carried
 * the item succeeded for it, and rejects with that item's own error otherwise. So each caller keeps its
 * one-item-at-a-time logic (ledger first, event last; its own retry on failure) while the writes travel
 * in a few requests per batch instead of one per item.
 *
 * DataLoader (with its cache off) does exactly this scheduling: a batch per window, at most `maxItems` per
 * flush, an Error in the answer failing only its own caller.
 */
export function coalesce<Item>(
  flush: (items: readonly Item[]) => Promise<FlushResult>,
  options: CoalesceOptions,
): (item: Item) => Promise<void> {
  const windowMs = options.windowMs ?? 5;
  if (!(Number.isInteger(options.maxItems) && options.maxItems >= 1))
    throw new RangeError(`maxItems must be a positive integer, got ${options.maxItems}`);
  if (!(windowMs >= 0)) throw new RangeError(`windowMs must be >= 0, got ${windowMs}`);
  const loader = new DataLoader<Item, void>(
    async (items) => {
      const results = await flush(items);
      if (results.length !== items.length)
        throw new Error(`a flush answered ${results.length} results for ${items.length} items`);
      return results.map((result) => result ?? undefined);
    },
    {
      cache: false,
      maxBatchSize: options.maxItems,
      batchScheduleFn: (dispatch) => setTimeout(dispatch, windowMs),
    },
  );
  return (item) => loader.load(item);
}

/** Runs `flush` on the whole batch and gives every item the same answer (a request that is all or nothing). */
export async function allOrNothing(
  items: readonly unknown[],
  flush: () => Promise<void>,
): Promise<FlushResult> {
  try {
    await flush();
    return items.map(() => undefined);
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    return items.map(() => failure);
  }
}

/** PutEvents takes at most 10 entries: one flush is one request. */
const EVENTS_PER_FLUSH = 10;
/** A whole SQS batch's entries; the ledger chunks them into BatchWriteItem requests of 25. */
const LEDGER_ENTRIES_PER_FLUSH = 100;

/** The ledger writes of concurrent callers in a few BatchWriteItem requests (one user's last entry wins). */
export function coalescedLedger(
  ledger: OnboardingLedger,
  options: { windowMs?: number } = {},
): OnboardingLedger {
  const put = coalesce<{ readonly tenantId: string; readonly entry: LedgerEntry }>(
    async (items) => {
      const byTenant = new Map<string, Map<string, LedgerEntry>>();
      for (const { tenantId, entry } of items) {
        const entries = byTenant.get(tenantId) ?? new Map<string, LedgerEntry>();
        entries.set(entry.appInstanceUserId, entry);
        byTenant.set(tenantId, entries);
      }
      const failures = new Map<string, Error>();
      await Promise.all(
        [...byTenant].map(async ([tenantId, entries]) => {
          const [result] = await allOrNothing([tenantId], () =>
            ledger.putMany(tenantId, [...entries.values()]),
          );
          if (result) failures.set(tenantId, result);
        }),
      );
      return items.map(({ tenantId }) => failures.get(tenantId));
    },
    { ...options, maxItems: LEDGER_ENTRIES_PER_FLUSH },
  );
  return {
    putMany: async (tenantId, entries) => {
      await Promise.all(entries.map((entry) => put({ tenantId, entry })));
    },
  };
}

/** The events of concurrent callers in PutEvents requests of up to 10 entries. */
export function coalescedEvents(sink: EventSink, options: { windowMs?: number } = {}): EventSink {
  const publish = coalesce<LifecycleEvent>((events) => allOrNothing(events, () => sink.publish(events)), {
    ...options,
    maxItems: EVENTS_PER_FLUSH,
  });
  return {
    publish: async (events) => {
      await Promise.all(events.map((event) => publish(event)));
    },
  };
}
