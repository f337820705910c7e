import type { UserPage } from './ports';

/** How many pages' DynamoDB writes may still be in flight while later pages are worked. */
export const PAGES_OF_WRITES_IN_FLIGHT = 4;

/** A small bounded set of background writes whose first failure is rethrown at the next add or drain. */
export class BackgroundWrites {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number = PAGES_OF_WRITES_IN_FLIGHT) {}

  async add(write: () => Promise<void>): Promise<void> {
    this.throwIfFailed();
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const promise: Promise<void> = write()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(promise));
    this.inFlight.add(promise);
  }

  async drain(): Promise<void> {
    await this.settle();
    this.throwIfFailed();
  }

  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}

export interface ScanOptions<Extra> {
  /** Started as soon as a page arrives (e.g. its ledger read), awaited when the page's turn comes. */
  readonly prefetch: (page: UserPage) => Promise<Extra>;
  /** Works one page; returns its writes, run in the background while later pages are worked. */
  readonly work: (page: UserPage, extra: Extra) => Promise<(() => Promise<void>) | undefined>;
  /** Asked after each page that is not the last: stop here and checkpoint? */
  readonly stopAfter: (pagesThisInvocation: number) => boolean;
}

export interface ScanResult {
  /** True when the scan stopped before the last page; `cursor` resumes it. */
  readonly checkpoint: boolean;
  readonly cursor: string | undefined;
}

/**
 * The one scan of `plan` and `reconcile`: pages through the users as a pipeline, because at scale the Chime
 * quota, not our own round trips, must be the bound. The next list call starts as soon as a page arrives,
 * its prefetch runs beside the current page's Chime calls, and a page's writes finish in the background while
 * later pages are worked. Everything in flight is awaited before returning, so a saved cursor never runs
 * ahead of the work it stands for.
 */
export async function scanPages<Extra>(
  listing: AsyncIterable<UserPage>,
  options: ScanOptions<Extra>,
): Promise<ScanResult> {
  const pages = listing[Symbol.asyncIterator]();
  const writes = new BackgroundWrites();
  // The next page, already on its way. It may fail while the current page is being worked: it is marked
  // handled at once and its error surfaces when it is awaited.
  const fetchPage = () => {
    const promise = (async () => {
      const next = await pages.next();
      if (next.done) return null;
      const extra = options.prefetch(next.value);
      extra.catch(() => undefined);
      return { page: next.value, extra };
    })();
    promise.catch(() => undefined);
    return promise;
  };
  let upcoming: ReturnType<typeof fetchPage> | undefined;
  let pagesThisInvocation = 0;
  try {
    upcoming = fetchPage();
    for (;;) {
      const current = await upcoming;
      upcoming = undefined;
      if (!current) break;
      pagesThisInvocation++;
      const last = current.page.nextToken === undefined;
      const stop = !last && options.stopAfter(pagesThisInvocation);
      if (!last && !stop) upcoming = fetchPage();
      const persist = await options.work(current.page, await current.extra);
      if (persist) await writes.add(persist);
      if (last) break;
      if (stop) {
        await writes.drain();
        return { checkpoint: true, cursor: current.page.nextToken };
      }
    }
    await writes.drain();
    return { checkpoint: false, cursor: undefined };
  } finally {
    // On an error, let the prefetch settle (its failure is already reported by the error in hand), stop the
    // paginator, and wait for the writes so none outlives the invocation.
    await upcoming?.catch(() => undefined);
    await pages.return?.(undefined);
    await writes.settle();
  }
}
