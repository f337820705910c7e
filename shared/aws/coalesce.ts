import type { LedgerEntry } from '../contracts/ledger';
import type { EventSink, LifecycleEvent } from '../contracts/lifecycle-events';
import type { OnboardingLedger } from '../onboarding/ports';

/** How a coalescer gathers calls into one request. */
export interface CoalesceOptions {
  /** The most items one flush takes (the request's own limit, e.g. 100 for TransactWriteItems). */
  readonly maxItems: number;
  /**
   * A flush goes out once no item has arrived for this long. Default 10 ms: the records of a batch reach
   * a step one after the other while the limiter paces their creates (every few ms), so a short quiet
   * period means the batch has passed the step.
   */
  readonly quietMs?: number;
  /** ...or once the oldest waiting item has waited this long, whatever still arrives. Default 250 ms. */
  readonly maxWaitMs?: number;
}

/**
 * What a flush answers per item, in the order it was given: nothing for success, an Error for that item
 * alone (the others of the batch still succeed).
 */
export type FlushResult = readonly (undefined | Error)[];

interface Waiting<Item> {
  readonly item: Item;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Gathers concurrent calls into batched requests: every `add(item)` resolves when the flush that carried
 * the item succeeded for it, and rejects with that item's own error otherwise. So each caller keeps its
 * one-item-at-a-time logic (ledger first, event last; its own retry on failure) while the writes travel
 * in a few requests per batch instead of one per item.
 *
 * A flush goes out when `maxItems` are waiting, when no item arrived for `quietMs`, or when the oldest has
 * waited `maxWaitMs`. The quiet period is what makes it batch well: an invocation returns only when its
 * slowest record is done, so holding the early records until the batch has passed the step costs the
 * invocation nothing, while a fixed window would send a request every few milliseconds as the limiter
 * releases the creates one by one (measured: about 1.6 requests per message with a 5 ms window, against
 * 0.2 here). DataLoader, the usual tool for this, schedules a batch once, at its first item, so it cannot
 * wait for a quiet period; this is the few lines it would take to bend it.
 */
export function coalesce<Item>(
  flush: (items: readonly Item[]) => Promise<FlushResult>,
  options: CoalesceOptions,
): (item: Item) => Promise<void> {
  const { maxItems, quietMs = 10, maxWaitMs = 250 } = options;
  if (!(Number.isInteger(maxItems) && maxItems >= 1))
    throw new RangeError(`maxItems must be a positive integer, got ${maxItems}`);
  if (!(quietMs >= 0)) throw new RangeError(`quietMs must be >= 0, got ${quietMs}`);
  if (!(maxWaitMs >= quietMs)) throw new RangeError(`maxWaitMs must be >= quietMs, got ${maxWaitMs}`);
  let waiting: Waiting<Item>[] = [];
  let quietTimer: NodeJS.Timeout | undefined;
  let maxWaitTimer: NodeJS.Timeout | undefined;

  const send = (batch: readonly Waiting<Item>[]) => {
    flush(batch.map((entry) => entry.item)).then(
      (results) => {
        if (results.length !== batch.length) {
          const error = new Error(`a flush answered ${results.length} results for ${batch.length} items`);
          for (const entry of batch) entry.reject(error);
          return;
        }
        batch.forEach((entry, index) => {
          const result = results[index];
          if (result) entry.reject(result);
          else entry.resolve();
        });
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const entry of batch) entry.reject(failure);
      },
    );
  };
  const flushWaiting = () => {
    clearTimeout(quietTimer);
    clearTimeout(maxWaitTimer);
    quietTimer = undefined;
    maxWaitTimer = undefined;
    const batch = waiting;
    waiting = [];
    if (batch.length > 0) send(batch);
  };

  return (item) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (waiting.length >= maxItems) {
        const batch = waiting.slice(0, maxItems);
        waiting = waiting.slice(maxItems);
        send(batch);
        if (waiting.length === 0) {
          clearTimeout(quietTimer);
          clearTimeout(maxWaitTimer);
          quietTimer = undefined;
          maxWaitTimer = undefined;
        }
        return;
      }
      clearTimeout(quietTimer);
      quietTimer = setTimeout(flushWaiting, quietMs);
      maxWaitTimer ??= setTimeout(flushWaiting, maxWaitMs);
    });
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
  options: Omit<CoalesceOptions, 'maxItems'> = {},
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
export function coalescedEvents(sink: EventSink, options: Omit<CoalesceOptions, 'maxItems'> = {}): EventSink {
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
