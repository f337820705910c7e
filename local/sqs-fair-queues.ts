import {
  deliveryOrder,
  FAIR_QUEUE_THRESHOLDS,
  type FairQueueThresholds,
  ProcessingTime,
  staysNoisy,
  type TenantLoad,
} from './sqs-fair-policy';

/**
 * Fair queues for the local SQS server. fauxqs (2.4) has none: on a standard queue it drops a message's
 * MessageGroupId and delivers in arrival order. This module gives every standard queue of a fauxqs server
 * the behaviour AWS documents for a standard queue whose messages carry group ids (the delivery rules are
 * in sqs-fair-policy.ts), without patching fauxqs's code:
 * - the server is built on our subclass of its store (`buildApp({ stores })`, its own seam), whose queues
 *   get instance wrappers around the five methods every message path goes through (enqueue, dequeue,
 *   deleteMessage, changeVisibility, purge): they count each tenant's messages in the queue and in flight,
 *   time every in-flight period, and before each dequeue move the messages the fair rules pick to the front
 *   of the visible list (fauxqs then takes them as it would have, receive counts and redrive included);
 * - a Fastify preHandler hook (fauxqs's app is a Fastify instance) reads MessageGroupId from SendMessage and
 *   SendMessageBatch requests to standard queues, refuses an invalid one as SQS does, and gives each entry
 *   its own MessageAttributes object, which fauxqs stores on the message as is: the queue's enqueue wrapper
 *   finds the group id by that object and sets it on the message, so ReceiveMessage returns it as the
 *   MessageGroupId system attribute, as SQS does. Everything runs synchronously inside one request: no
 *   other request can see the message before its group is set.
 * fauxqs's internals are checked when loaded: a release that changes them fails loudly at start, naming
 * what is missing, instead of delivering in some other order.
 */

/** What the fair queues use of a fauxqs message (`SqsMessage`). */
interface FauxqsMessage {
  readonly messageId: string;
  messageGroupId?: string;
  readonly messageAttributes: object;
}

type ReceivedMessage = { readonly MessageId?: string; readonly ReceiptHandle?: string };

/** What the fair queues use of a fauxqs queue (`SqsQueue`). */
interface FauxqsQueue {
  messages: FauxqsMessage[];
  readonly inflightMessages: Map<string, { readonly message: FauxqsMessage; visibilityDeadline: number }>;
  isFifo(): boolean;
  processTimers(): void;
  enqueue(message: FauxqsMessage): void;
  dequeue(maxCount: number, visibilityTimeout?: number, deadLetterQueueOf?: unknown): ReceivedMessage[];
  deleteMessage(receiptHandle: string): boolean;
  changeVisibility(receiptHandle: string, seconds: number): void;
  purge(): void;
}

interface FauxqsStore {
  getQueue(url: string): FauxqsQueue | undefined;
  createQueue(...args: unknown[]): FauxqsQueue;
}

const QUEUE_METHODS = ['enqueue', 'dequeue', 'deleteMessage', 'changeVisibility', 'purge', 'processTimers'];

/**
 * fauxqs's store class, from the module its app is built on (the package exports only the app, so the
 * module is found next to it: the same file, hence the same class, as the app's own import).
 */
async function loadStoreClass(): Promise<new () => FauxqsStore> {
  const module = (await import(new URL('./sqs/sqsStore.js', import.meta.resolve('fauxqs')).href)) as {
    SqsStore?: unknown;
    SqsQueue?: { prototype?: Record<string, unknown> };
  };
  const missing = [
    ...(typeof module.SqsStore === 'function' ? [] : ['SqsStore']),
    ...QUEUE_METHODS.filter((name) => typeof module.SqsQueue?.prototype?.[name] !== 'function').map(
      (name) => `SqsQueue.${name}`,
    ),
  ];
  if (missing.length > 0) {
    throw new Error(
      `fauxqs's internals changed (missing: ${missing.join(', ')}); local/sqs-fair-queues.ts needs updating`,
    );
  }
  return module.SqsStore as new () => FauxqsStore;
}

/** MessageGroupId as SQS takes it: 1-128 alphanumeric characters and ASCII punctuation. */
const GROUP_ID = /^[A-Za-z0-9!-/:-@[-`{-~]{1,128}$/;

/** An error answer in SQS's JSON protocol, as fauxqs gives its own. */
export interface SqsErrorAnswer {
  readonly code: string;
  readonly message: string;
}

export interface FairQueuesOptions {
  /** AWS's documented thresholds by default; tests shorten the windows. */
  readonly thresholds?: Partial<FairQueueThresholds>;
  readonly now?: () => number;
}

/** The fair side of one fauxqs server: its store, and the hook that reads the group ids of sends. */
export interface FairQueues {
  /** Give it to `buildApp({ stores: { sqsStore } })`. */
  readonly store: object;
  /**
   * Reads the MessageGroupId of a send to a standard queue (call it before fauxqs handles the request with
   * the request's X-Amz-Target and parsed body); an error answer when a group id is invalid.
   */
  tagSend(target: unknown, body: unknown): SqsErrorAnswer | undefined;
}

export async function createFairQueues(options: FairQueuesOptions = {}): Promise<FairQueues> {
  const StoreClass = await loadStoreClass();
  const thresholds = { ...FAIR_QUEUE_THRESHOLDS, ...options.thresholds };
  const now = options.now ?? Date.now;
  const groupsByAttributes = new WeakMap<object, string>();
  const owners = new WeakMap<FauxqsMessage, FairQueue>();
  class FairStore extends StoreClass {
    override createQueue(...args: unknown[]): FauxqsQueue {
      const queue = super.createQueue(...args);
      new FairQueue(queue, { thresholds, now, groupsByAttributes, owners }).attach();
      return queue;
    }
  }
  const store = new FairStore();

  const tagEntry = (queueUrl: unknown, entry: Record<string, unknown>, where: string) => {
    const group = entry.MessageGroupId;
    if (group === undefined) return undefined;
    const queue = typeof queueUrl === 'string' ? store.getQueue(queueUrl) : undefined;
    if (!queue || queue.isFifo()) return undefined;
    if (typeof group !== 'string' || !GROUP_ID.test(group)) {
      return {
        code: 'InvalidParameterValue',
        message: `Value for parameter MessageGroupId${where} is invalid. Reason: it must be 1-128 alphanumeric or punctuation characters.`,
      };
    }
    const attributes = { ...(entry.MessageAttributes as object | undefined) };
    entry.MessageAttributes = attributes;
    groupsByAttributes.set(attributes, group);
    return undefined;
  };

  return {
    store,
    tagSend(target, body) {
      if (typeof body !== 'object' || body === null) return undefined;
      const request = body as Record<string, unknown>;
      if (target === 'AmazonSQS.SendMessage') return tagEntry(request.QueueUrl, request, '');
      if (target !== 'AmazonSQS.SendMessageBatch' || !Array.isArray(request.Entries)) return undefined;
      for (const entry of request.Entries as Record<string, unknown>[]) {
        if (typeof entry !== 'object' || entry === null) continue;
        const problem = tagEntry(request.QueueUrl, entry, ` of entry ${String(entry.Id)}`);
        if (problem) return problem;
      }
      return undefined;
    },
  };
}

/** Messages without a group id are each a tenant of their own: never tracked by tenant, only counted. */
const UNGROUPED = '\u0000ungrouped';

interface InFlight {
  readonly tenant: string;
  readonly receivedAt: number;
  /** When its visibility ends, as last set. */
  deadline: number;
}

interface FairQueueContext {
  readonly thresholds: FairQueueThresholds;
  readonly now: () => number;
  readonly groupsByAttributes: WeakMap<object, string>;
  /** Which queue counts a message now: a message moved to a DLQ leaves its source queue's counts. */
  readonly owners: WeakMap<FauxqsMessage, FairQueue>;
}

/** One standard queue's tenants: what each has queued and in flight, its processing time, its noisiness. */
class FairQueue {
  /** Messages in the queue (visible, delayed or in flight) per tenant; UNGROUPED counts the rest. */
  readonly #queued = new Map<string, number>();
  readonly #inFlight = new Map<string, InFlight>();
  readonly #inFlightBy = new Map<string, number>();
  readonly #lastSentAt = new Map<string, number>();
  readonly #noisy = new Set<string>();
  readonly #processing: ProcessingTime;

  constructor(
    private readonly queue: FauxqsQueue,
    private readonly context: FairQueueContext,
  ) {
    this.#processing = new ProcessingTime(context.thresholds.processingWindowMs);
  }

  /** Wraps the queue's methods (on the instance: fauxqs's class and its other queues stay as they are). */
  attach(): void {
    const { queue } = this;
    const original = {
      enqueue: queue.enqueue.bind(queue),
      dequeue: queue.dequeue.bind(queue),
      deleteMessage: queue.deleteMessage.bind(queue),
      changeVisibility: queue.changeVisibility.bind(queue),
      purge: queue.purge.bind(queue),
    };
    queue.enqueue = (message) => {
      this.#arrived(message);
      original.enqueue(message);
    };
    queue.dequeue = (maxCount, visibilityTimeout, deadLetterQueueOf) => {
      if (queue.isFifo()) return original.dequeue(maxCount, visibilityTimeout, deadLetterQueueOf);
      const now = this.context.now();
      this.#settleExpired(now);
      queue.processTimers();
      this.#putFairFirst(Math.min(maxCount, queue.messages.length, 10), now);
      const received = original.dequeue(maxCount, visibilityTimeout, deadLetterQueueOf);
      for (const { ReceiptHandle } of received) this.#received(ReceiptHandle, now);
      return received;
    };
    queue.deleteMessage = (receiptHandle) => {
      const entry = queue.inflightMessages.get(receiptHandle);
      const deleted = original.deleteMessage(receiptHandle);
      if (deleted && entry) {
        this.#ended(receiptHandle, this.context.now());
        this.#left(entry.message);
      }
      return deleted;
    };
    queue.changeVisibility = (receiptHandle, seconds) => {
      original.changeVisibility(receiptHandle, seconds);
      const flight = this.#inFlight.get(receiptHandle);
      if (!flight) return;
      const now = this.context.now();
      if (seconds === 0) this.#ended(receiptHandle, now);
      else flight.deadline = now + seconds * 1_000;
    };
    queue.purge = () => {
      original.purge();
      this.#queued.clear();
      this.#inFlight.clear();
      this.#inFlightBy.clear();
      this.#noisy.clear();
    };
  }

  /** Removes a message from this queue's counts (deleted, or moved to a dead-letter queue). */
  left(message: FauxqsMessage): void {
    this.#left(message);
  }

  #arrived(message: FauxqsMessage): void {
    const { groupsByAttributes, owners } = this.context;
    const group = groupsByAttributes.get(message.messageAttributes);
    if (group !== undefined && message.messageGroupId === undefined) message.messageGroupId = group;
    if (this.queue.isFifo()) return;
    const previous = owners.get(message);
    if (previous && previous !== this) previous.left(message);
    owners.set(message, this);
    const tenant = message.messageGroupId ?? UNGROUPED;
    this.#queued.set(tenant, (this.#queued.get(tenant) ?? 0) + 1);
    if (tenant !== UNGROUPED) this.#lastSentAt.set(tenant, this.context.now());
  }

  #left(message: FauxqsMessage): void {
    const { owners } = this.context;
    if (owners.get(message) !== this) return;
    owners.delete(message);
    const tenant = message.messageGroupId ?? UNGROUPED;
    const left = (this.#queued.get(tenant) ?? 1) - 1;
    if (left > 0) {
      this.#queued.set(tenant, left);
      return;
    }
    this.#queued.delete(tenant);
    this.#lastSentAt.delete(tenant);
    this.#noisy.delete(tenant);
  }

  #received(receiptHandle: string | undefined, now: number): void {
    const entry = receiptHandle === undefined ? undefined : this.queue.inflightMessages.get(receiptHandle);
    if (!entry || receiptHandle === undefined) return;
    const tenant = entry.message.messageGroupId ?? UNGROUPED;
    this.#inFlight.set(receiptHandle, { tenant, receivedAt: now, deadline: entry.visibilityDeadline });
    this.#inFlightBy.set(tenant, (this.#inFlightBy.get(tenant) ?? 0) + 1);
  }

  #ended(receiptHandle: string, at: number): void {
    const flight = this.#inFlight.get(receiptHandle);
    if (!flight) return;
    this.#inFlight.delete(receiptHandle);
    this.#processing.add(flight.tenant, at, Math.max(0, at - flight.receivedAt));
    const left = (this.#inFlightBy.get(flight.tenant) ?? 1) - 1;
    if (left > 0) this.#inFlightBy.set(flight.tenant, left);
    else this.#inFlightBy.delete(flight.tenant);
  }

  /** In-flight periods whose visibility ended (fauxqs returns such messages to the queue on its own timer). */
  #settleExpired(now: number): void {
    for (const [receiptHandle, flight] of this.#inFlight) {
      const entry = this.queue.inflightMessages.get(receiptHandle);
      if (entry && entry.visibilityDeadline > now) {
        flight.deadline = entry.visibilityDeadline;
        continue;
      }
      this.#ended(receiptHandle, Math.min(now, entry?.visibilityDeadline ?? flight.deadline));
    }
  }

  /** Each grouped tenant's load now, and the queue's; updates who is noisy. */
  #judge(now: number): Map<string, TenantLoad> {
    const windowStart = now - this.context.thresholds.processingWindowMs;
    const ongoing = new Map<string, number>();
    let processingMs = 0;
    for (const flight of this.#inFlight.values()) {
      const ms = now - Math.max(flight.receivedAt, windowStart);
      ongoing.set(flight.tenant, (ongoing.get(flight.tenant) ?? 0) + ms);
      processingMs += ms;
    }
    for (const tenant of [...this.#processing.tenants()]) {
      processingMs += this.#processing.within(tenant, now);
      if (!this.#queued.has(tenant) && !ongoing.has(tenant)) this.#processing.forget(tenant, now);
    }
    const queueLoad = { inFlight: this.#inFlight.size, processingMs };
    const loads = new Map<string, TenantLoad>();
    for (const [tenant, queued] of this.#queued) {
      if (tenant === UNGROUPED) continue;
      const inFlight = this.#inFlightBy.get(tenant) ?? 0;
      const load: TenantLoad = {
        inFlight,
        backlog: queued - inFlight,
        processingMs: this.#processing.within(tenant, now) + (ongoing.get(tenant) ?? 0),
        lastSentAt: this.#lastSentAt.get(tenant) ?? now,
      };
      loads.set(tenant, load);
      if (staysNoisy(this.#noisy.has(tenant), load, queueLoad, now, this.context.thresholds)) {
        this.#noisy.add(tenant);
      } else {
        this.#noisy.delete(tenant);
      }
    }
    return loads;
  }

  /**
   * Moves the `count` messages the fair rules pick to the front of the visible list. Nothing moves while no
   * tenant is noisy, or while the only tenant waiting is one noisy tenant: the list's own order is right.
   */
  #putFairFirst(count: number, now: number): void {
    const groupedTenants = this.#queued.size - (this.#queued.has(UNGROUPED) ? 1 : 0);
    if (count === 0 || groupedTenants === 0) return;
    const loads = this.#judge(now);
    const noisyWaiting = [...this.#noisy].filter((tenant) => (loads.get(tenant)?.backlog ?? 0) > 0);
    if (noisyWaiting.length === 0) return;
    let quietWaiting = (this.#queued.get(UNGROUPED) ?? 0) - (this.#inFlightBy.get(UNGROUPED) ?? 0);
    for (const [tenant, load] of loads) if (!this.#noisy.has(tenant)) quietWaiting += load.backlog;
    if (quietWaiting <= 0 && noisyWaiting.length === 1) return;
    const tenants = this.#scan(count, Math.min(count, quietWaiting), noisyWaiting, loads);
    const picks = deliveryOrder(tenants, count, this.#noisy, (tenant) => this.#inFlightBy.get(tenant) ?? 0);
    if (picks.every((index, position) => index === position)) return;
    const { messages } = this.queue;
    const chosen = picks.map((index) => messages[index] as FauxqsMessage);
    for (const index of [...picks].sort((a, b) => b - a)) messages.splice(index, 1);
    messages.unshift(...chosen);
  }

  /**
   * The tenants of the visible messages, in queue order, as far as the pick needs: until `quietWanted` quiet
   * messages were seen, and `count` of each noisy tenant (or all it has waiting).
   */
  #scan(
    count: number,
    quietWanted: number,
    noisyWaiting: readonly string[],
    loads: ReadonlyMap<string, TenantLoad>,
  ): string[] {
    const tenants: string[] = [];
    const seen = new Map<string, number>();
    let quietSeen = 0;
    let noisyComplete = 0;
    for (const message of this.queue.messages) {
      const tenant = message.messageGroupId ?? `${UNGROUPED}:${message.messageId}`;
      tenants.push(tenant);
      if (!this.#noisy.has(tenant)) {
        quietSeen++;
      } else {
        const taken = (seen.get(tenant) ?? 0) + 1;
        seen.set(tenant, taken);
        if (taken === Math.min(count, loads.get(tenant)?.backlog ?? 0)) noisyComplete++;
      }
      if (quietSeen >= count) break;
      if (quietSeen >= quietWanted && noisyComplete >= noisyWaiting.length) break;
    }
    return tenants;
  }
}
