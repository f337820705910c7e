import { type BatchHooks, type Invoked, receiveAndInvoke } from './invocation';
import { type Settings, sleep } from './settings';
import type { EventSource, EventSourceStats } from './types';

/**
 * The running mapping: `concurrency` poller loops (each receive → invoke → delete), their counters, the
 * pause gate of `UpdateEventSourceMapping --no-enabled`, and `drain` for tests.
 */

/** What the pollers count, and the hooks through which a batch reports itself. */
class Counters {
  readonly values = {
    polls: 0,
    batches: 0,
    received: 0,
    deleted: 0,
    retried: 0,
    handlerErrors: 0,
    invalidResponses: 0,
    inFlight: 0,
  };
  lastMessageAt = Date.now();
  lastEmptyPollAt = 0;

  readonly hooks: BatchHooks = {
    onReceived: (count) => {
      this.values.polls++;
      if (count === 0) {
        this.lastEmptyPollAt = Date.now();
        return;
      }
      this.values.inFlight++;
      this.values.received += count;
      this.lastMessageAt = Date.now();
    },
    onSettled: () => {
      this.values.inFlight--;
      this.lastMessageAt = Date.now();
    },
    onProblem: (kind) => {
      if (kind === 'handler') this.values.handlerErrors++;
      else this.values.invalidResponses++;
    },
  };

  /** Counts a batch once its deletes are done. */
  finished(invoked: Invoked): Promise<void> {
    return invoked.deletion.then((result) => {
      this.values.batches++;
      this.values.deleted += result.deleted.length;
      this.values.retried += result.retried.length;
    });
  }

  /** No batch in flight, and an empty poll finished at least `idleMs` after the last message was seen. */
  idle(idleMs: number): boolean {
    return (
      this.values.inFlight === 0 &&
      this.lastEmptyPollAt > this.lastMessageAt &&
      Date.now() - this.lastMessageAt >= idleMs
    );
  }
}

/** Disables and enables the mapping: while closed, each poller parks before its next receive. */
class PauseGate {
  private paused: { readonly resumed: Promise<void>; readonly resume: () => void } | undefined;
  private parked = 0;
  /** Woken whenever a poller parks, so that `pause()` (any number of calls at once) can tell when all have. */
  private readonly parkedListeners = new Set<() => void>();

  constructor(
    private readonly pollers: number,
    private readonly stopped: Promise<void>,
    private readonly isStopped: () => boolean,
  ) {}

  /** Called by a poller before each receive: returns at once unless paused, else when resumed or stopped. */
  async park(): Promise<void> {
    const gate = this.paused;
    if (!gate) return;
    this.parked++;
    for (const listener of this.parkedListeners) listener();
    await Promise.race([gate.resumed, this.stopped]);
    this.parked--;
  }

  async pause(): Promise<void> {
    if (!this.paused) {
      let resume = () => {};
      const resumed = new Promise<void>((resolve) => {
        resume = resolve;
      });
      this.paused = { resumed, resume };
    }
    while (this.parked < this.pollers && !this.isStopped()) {
      let listener = () => {};
      const next = new Promise<void>((resolve) => {
        listener = resolve;
      });
      this.parkedListeners.add(listener);
      await Promise.race([next, this.stopped]);
      this.parkedListeners.delete(listener);
    }
  }

  resume(): void {
    const gate = this.paused;
    this.paused = undefined;
    gate?.resume();
  }
}

/** Starts `settings.concurrency` pollers on the queue. */
export function runPollers(settings: Settings): EventSource {
  const abort = new AbortController();
  const counters = new Counters();
  /** Deletes of invoked batches still under way: a poller does not wait for them, `stop()` does. */
  const finishing = new Set<Promise<void>>();
  const stopped = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve()));
  const gate = new PauseGate(settings.concurrency, stopped, () => abort.signal.aborted);

  const poller = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      await gate.park();
      if (abort.signal.aborted) break;
      try {
        const invoked = await receiveAndInvoke(settings, abort.signal, counters.hooks);
        if (!invoked) continue;
        const finished = counters.finished(invoked);
        finishing.add(finished);
        void finished.finally(() => finishing.delete(finished));
      } catch (error) {
        if (abort.signal.aborted) break;
        settings.onError(error, { phase: 'receive', messageIds: [] });
        await sleep(1_000, abort.signal);
      }
    }
  };
  const pollers = Array.from({ length: settings.concurrency }, () => poller());

  return {
    get stats(): EventSourceStats {
      return { ...counters.values };
    },
    pause: () => gate.pause(),
    resume: () => gate.resume(),
    async stop() {
      abort.abort();
      await Promise.all(pollers);
      // The pollers have stopped adding work, so this set only shrinks now.
      await Promise.all([...finishing]);
    },
    async drain({ idleMs = 500, timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (counters.idle(idleMs)) return;
        if (abort.signal.aborted) throw new Error('drain: the event source was stopped');
        if (Date.now() > deadline) {
          throw new Error(
            `drain: ${settings.queueUrl} still busy after ${timeoutMs} ms (${JSON.stringify(counters.values)})`,
          );
        }
        await sleep(25);
      }
    },
  };
}
