/**
 * How an SQS fair queue chooses what a receive returns, as AWS documents it (SQS Developer Guide, "Amazon
 * SQS fair queues"): pure functions over a queue's per-tenant load. local/sqs-fair-queues.ts applies them to
 * the local SQS server (fauxqs, which has no fair queues of its own).
 *
 * - A tenant is the message's MessageGroupId; a message without one is a tenant of its own.
 * - A tenant is noisy when it holds more than 10% of the queue's in-flight messages and at least 30 of its
 *   own, or when its share of the consumers' recent processing time is above 10%.
 * - A receive returns quiet tenants' messages first whenever any wait; noisy tenants' messages are not
 *   dropped or throttled, only served after them, the noisy tenant with the fewest messages in flight first.
 * - A noisy tenant stays noisy until its backlog is drained or it has sent nothing for 5 minutes.
 *
 * AWS calls its detection approximate and does not say how far back "recent" processing time reaches; here
 * it is the last 60 s, and a message's processing time is the time it spends in flight (from its receive
 * to its deletion, or to the end of its visibility timeout when it comes back).
 */

export interface FairQueueThresholds {
  /** Noisy by concurrency: more than this share of the queue's in-flight messages... */
  readonly inFlightShare: number;
  /** ...and at least this many in flight of its own. */
  readonly minInFlight: number;
  /** Noisy by processing time: more than this share of the consumers' recent processing time. */
  readonly processingShare: number;
  /** How far back "recent" processing time reaches. */
  readonly processingWindowMs: number;
  /** A noisy tenant that sent nothing for this long is no longer noisy. */
  readonly quietAfterMs: number;
}

/** AWS's documented thresholds (the processing window is ours: AWS does not document it). */
export const FAIR_QUEUE_THRESHOLDS: FairQueueThresholds = {
  inFlightShare: 0.1,
  minInFlight: 30,
  processingShare: 0.1,
  processingWindowMs: 60_000,
  quietAfterMs: 5 * 60_000,
};

/** One tenant's load on a queue, now. */
export interface TenantLoad {
  readonly inFlight: number;
  /** Its messages waiting in the queue (visible or delayed). */
  readonly backlog: number;
  /** Its processing time within the window. */
  readonly processingMs: number;
  /** When it last sent a message (epoch ms). */
  readonly lastSentAt: number;
}

/** The whole queue's load, now. */
export interface QueueLoad {
  readonly inFlight: number;
  readonly processingMs: number;
}

/** Whether the tenant's load makes it noisy now (either measure). */
export function isNoisyNow(
  tenant: TenantLoad,
  queue: QueueLoad,
  thresholds: FairQueueThresholds = FAIR_QUEUE_THRESHOLDS,
): boolean {
  const byConcurrency =
    tenant.inFlight >= thresholds.minInFlight && tenant.inFlight > thresholds.inFlightShare * queue.inFlight;
  const byProcessingTime =
    queue.processingMs > 0 && tenant.processingMs > thresholds.processingShare * queue.processingMs;
  return byConcurrency || byProcessingTime;
}

/**
 * Whether the tenant is noisy after this look: noisy now, or noisy before and neither released (backlog
 * drained) nor quiet for `quietAfterMs` (no send).
 */
export function staysNoisy(
  wasNoisy: boolean,
  tenant: TenantLoad,
  queue: QueueLoad,
  now: number,
  thresholds: FairQueueThresholds = FAIR_QUEUE_THRESHOLDS,
): boolean {
  if (tenant.backlog === 0) return false;
  if (isNoisyNow(tenant, queue, thresholds)) return true;
  return wasNoisy && now - tenant.lastSentAt < thresholds.quietAfterMs;
}

/**
 * The messages one receive returns, as indices into `tenants` (the tenant of each visible message, in queue
 * order): quiet tenants' messages first, in queue order; then, while room is left, noisy tenants' messages,
 * each taken from the noisy tenant with the fewest in flight (counting those this receive already took;
 * ties go to the message earlier in the queue).
 */
export function deliveryOrder(
  tenants: readonly string[],
  count: number,
  noisy: ReadonlySet<string>,
  inFlightOf: (tenant: string) => number,
): number[] {
  const picks: number[] = [];
  const waiting = new Map<string, number[]>();
  for (let index = 0; index < tenants.length && picks.length < count; index++) {
    const tenant = tenants[index] as string;
    if (!noisy.has(tenant)) {
      picks.push(index);
      continue;
    }
    const queued = waiting.get(tenant);
    if (!queued) waiting.set(tenant, [index]);
    else if (queued.length < count) queued.push(index);
  }
  const taken = new Map<string, number>();
  while (picks.length < count) {
    let best: { tenant: string; load: number; index: number } | undefined;
    for (const [tenant, queued] of waiting) {
      const index = queued[0];
      if (index === undefined) continue;
      const load = inFlightOf(tenant) + (taken.get(tenant) ?? 0);
      if (!best || load < best.load || (load === best.load && index < best.index)) {
        best = { tenant, load, index };
      }
    }
    if (!best) break;
    (waiting.get(best.tenant) as number[]).shift();
    taken.set(best.tenant, (taken.get(best.tenant) ?? 0) + 1);
    picks.push(best.index);
  }
  return picks;
}

/**
 * Each tenant's processing time over the last window, in one-second slots: an in-flight period is counted
 * in the second it ends (capped at the window), and the periods still going are added by the caller.
 */
export class ProcessingTime {
  /** Per tenant: the milliseconds of each slot, and the second each slot holds. */
  readonly #tenants = new Map<string, { readonly ms: Float64Array; readonly second: Float64Array }>();
  readonly #windowSeconds: number;

  constructor(windowMs: number) {
    this.#windowSeconds = Math.max(1, Math.ceil(windowMs / 1_000));
  }

  /** A period of `durationMs` in flight that ended at `endedAt`. */
  add(tenant: string, endedAt: number, durationMs: number): void {
    const second = Math.floor(endedAt / 1_000);
    const slot = second % this.#windowSeconds;
    let slots = this.#tenants.get(tenant);
    if (!slots) {
      slots = {
        ms: new Float64Array(this.#windowSeconds),
        second: new Float64Array(this.#windowSeconds).fill(-1),
      };
      this.#tenants.set(tenant, slots);
    }
    if (slots.second[slot] !== second) {
      slots.second[slot] = second;
      slots.ms[slot] = 0;
    }
    slots.ms[slot] = (slots.ms[slot] as number) + Math.min(durationMs, this.#windowSeconds * 1_000);
  }

  /** The tenant's completed processing time within the window ending at `now`. */
  within(tenant: string, now: number): number {
    const slots = this.#tenants.get(tenant);
    if (!slots) return 0;
    const oldest = Math.floor(now / 1_000) - this.#windowSeconds + 1;
    let total = 0;
    for (let slot = 0; slot < this.#windowSeconds; slot++) {
      if ((slots.second[slot] as number) >= oldest) total += slots.ms[slot] as number;
    }
    return total;
  }

  /** Tenants with processing time recorded (old ones too, until `forget`). */
  tenants(): IterableIterator<string> {
    return this.#tenants.keys();
  }

  /** Drops a tenant whose window is empty. */
  forget(tenant: string, now: number): void {
    if (this.within(tenant, now) === 0) this.#tenants.delete(tenant);
  }
}
