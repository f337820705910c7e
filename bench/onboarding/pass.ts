/**
 * One pass of the onboarding soak: tenants seeded, requests (with duplicates) queued, the onboard-users
 * handler consuming them on the local SQS event source, then every request accounted for.
 */
import { performance } from 'node:perf_hooks';
import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import type { ChimeEmulator } from '../../emulator';
import { type SqsEventHandler, startEventSource } from '../../local/event-source-runner';
import type { ReceivedEvent } from '../../local/eventbridge-server';
import type { Runtime } from '../../shared/composition-root';
import { parsePolicy } from '../../shared/policy';
import { CONCURRENCY, COUNT, DUPLICATE_SHARE, PASS_TIMEOUT_MS, TENANTS } from './settings';

export interface PassResult {
  readonly label: string;
  readonly requests: number;
  readonly messages: number;
  readonly created: number;
  readonly deadLettered: number;
  readonly duplicateUsers: number;
  readonly duplicateEvents: number;
  readonly lost: number;
  /** Requests not yet done when the pass timed out, while messages were still queued (not lost: unfinished). */
  readonly unfinished: number;
  readonly stillQueued: number;
  readonly seconds: number;
  readonly createsPerSecond: number;
  readonly availablePerSecond: number;
  readonly chimeThrottled: number;
  readonly faults: number;
}

/** The servers and the handler every pass uses. */
export interface PassContext {
  readonly runtime: Runtime;
  readonly emulator: ChimeEmulator;
  /** What the local EventBridge received, in order. */
  readonly events: readonly ReceivedEvent[];
  readonly queue: { readonly url: string; readonly arn: string; readonly deadLetterUrl: string };
  readonly handler: SqsEventHandler;
  readonly availablePerSecond: number;
}

interface Tenant {
  readonly tenantId: string;
  readonly arn: string;
}

/** `<tenantId>/<appInstanceUserId>` of a request or an event. */
type UserKey = string;

async function seedTenants(context: PassContext, label: string): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  for (let index = 0; index < TENANTS; index++) {
    const tenantId = `${label}-t${index}`;
    const arn = context.emulator.seed({ appInstanceName: tenantId, users: [] }).appInstanceArn;
    const document = {
      tenantId,
      appInstanceArn: arn,
      enabled: true,
      rules: [{ id: 'guests', priority: 10, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } }],
      default: { expiration: { days: 365 } },
    };
    const parsed = parsePolicy(document);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    await context.runtime.policyStore.put(parsed.policy, document, null);
    tenants.push({ tenantId, arn });
  }
  return tenants;
}

/** Counts the User Onboarded events of expected users from `from` on; returns where it stopped and how many it saw. */
function countOnboarded(
  events: readonly ReceivedEvent[],
  from: number,
  expected: ReadonlySet<UserKey>,
  onboarded: Map<UserKey, number>,
): { scanned: number; seen: number } {
  let seen = 0;
  let scanned = from;
  for (; scanned < events.length; scanned++) {
    const event = events[scanned];
    if (event?.detailType !== 'User Onboarded') continue;
    const detail = event.detail as { tenantId: string; appInstanceUserId: string };
    const key = `${detail.tenantId}/${detail.appInstanceUserId}`;
    if (!expected.has(key)) continue;
    onboarded.set(key, (onboarded.get(key) ?? 0) + 1);
    seen++;
  }
  return { scanned, seen };
}

async function deadLettersOf(
  runtime: Runtime,
  deadLetterUrl: string,
  expected: ReadonlySet<UserKey>,
): Promise<Map<UserKey, string>> {
  const letters = await runtime.deadLetters.peek(deadLetterUrl, 10_000);
  const found = new Map<UserKey, string>();
  for (const letter of letters) {
    try {
      const body = JSON.parse(letter.body) as { tenantId?: string; appInstanceUserId?: string };
      const key = `${body.tenantId}/${body.appInstanceUserId}`;
      if (expected.has(key)) found.set(key, letter.reason);
    } catch {
      // Not one of ours.
    }
  }
  return found;
}

interface Consumed {
  readonly started: number;
  readonly lastCreatedAt: number;
  readonly onboarded: Map<UserKey, number>;
  readonly deadLettered: Map<UserKey, string>;
}

/**
 * Runs the event source until every expected user is onboarded or dead-lettered (or the pass times out),
 * lets redelivered duplicates come back, and turns the faults off.
 */
async function consume(
  context: PassContext,
  expected: ReadonlySet<UserKey>,
  eventsBefore: number,
): Promise<Consumed> {
  const { runtime, queue } = context;
  const source = await startEventSource({
    sqs: runtime.sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
    handler: context.handler,
    batchSize: 10,
    waitTimeSeconds: 1,
    concurrency: CONCURRENCY,
    functionName: 'onboard-users',
    timeoutMs: 60_000,
    onError: () => {},
  });
  const started = performance.now();
  let lastCreatedAt = started;
  const onboarded = new Map<UserKey, number>();
  let deadLettered = new Map<UserKey, string>();
  let scanned = eventsBefore;
  const deadline = Date.now() + PASS_TIMEOUT_MS;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const counted = countOnboarded(context.events, scanned, expected, onboarded);
    scanned = counted.scanned;
    if (counted.seen > 0) lastCreatedAt = performance.now();
    if (onboarded.size + deadLettered.size >= expected.size) break;
    if (source.stats.inFlight === 0 && onboarded.size < expected.size) {
      deadLettered = await deadLettersOf(runtime, queue.deadLetterUrl, expected);
    }
    if (Date.now() > deadline) break;
  }
  // Let redelivered duplicates (hidden by their backoff) come back and prove they create nothing.
  await source.drain({ idleMs: 3_000, timeoutMs: 60_000 }).catch(() => undefined);
  await source.stop();
  context.emulator.setFaults({});
  deadLettered = await deadLettersOf(runtime, queue.deadLetterUrl, expected);
  countOnboarded(context.events, scanned, expected, onboarded);
  return { started, lastCreatedAt, onboarded, deadLettered };
}

/**
 * Every user in Chime once (ids are unique per AppInstance, so a second create could only show up as a
 * second event or an unexpected id), and every request accounted for.
 */
async function audit(
  context: PassContext,
  tenants: readonly Tenant[],
  expected: ReadonlySet<UserKey>,
  consumed: Consumed,
) {
  const { runtime, queue } = context;
  const listed = new Map<UserKey, number>();
  for (const tenant of tenants) {
    for await (const page of runtime.chimeUsers.listPages(tenant.arn)) {
      for (const user of page.users) {
        const key = `${tenant.tenantId}/${user.appInstanceUserId}`;
        listed.set(key, (listed.get(key) ?? 0) + 1);
      }
    }
  }
  const duplicateUsers =
    [...listed.values()].filter((count) => count > 1).length +
    [...listed.keys()].filter((key) => !expected.has(key)).length;
  const duplicateEvents = [...consumed.onboarded.values()].filter((count) => count > 1).length;
  const unaccounted = [...expected].filter(
    (key) => !listed.has(key) && !consumed.deadLettered.has(key),
  ).length;
  const { Attributes = {} } = await runtime.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const stillQueued =
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
  // With the queue empty, a request that is neither a user nor a DLQ entry is lost. With messages still
  // queued (the pass timed out) the missing requests are unfinished, and the pass cannot judge.
  const lost = stillQueued === 0 ? unaccounted : 0;
  const unfinished = stillQueued === 0 ? 0 : unaccounted;
  // Leftovers must not leak into the next pass.
  if (stillQueued > 0) await runtime.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
  for (const [, reason] of consumed.deadLettered) if (!reason) throw new Error('a DLQ entry has no reason');
  return { created: listed.size, duplicateUsers, duplicateEvents, lost, unfinished, stillQueued };
}

export async function runPass(
  context: PassContext,
  label: string,
  faults: Parameters<ChimeEmulator['setFaults']>[0],
): Promise<PassResult> {
  const { emulator, runtime, queue } = context;
  const tenants = await seedTenants(context, label);
  const requests = Array.from({ length: COUNT }, (_, index) => {
    const tenant = tenants[index % TENANTS] as Tenant;
    return {
      tenantId: tenant.tenantId,
      appInstanceUserId: `${index % 2 === 0 ? 'guest' : 'user'}-${index}`,
      name: `Person ${index}`,
    };
  });
  const duplicates = requests.filter(() => Math.random() < DUPLICATE_SHARE);
  // Each request carries its tenant as message group, as docs/onboarding.md tells producers to.
  const messages = shuffle(
    [...requests, ...duplicates].map((request) => ({
      body: JSON.stringify(request),
      groupId: request.tenantId,
    })),
  );

  const eventsBefore = context.events.length;
  const statsBefore = emulator.stats();
  emulator.setFaults(faults);
  // Queue everything first, so the measure is the consumer's throughput, not the producer's.
  await Promise.all(chunk(messages, 100).map((part) => runtime.queues.sendBatch(queue.url, part)));
  const expected = new Set(requests.map((request) => `${request.tenantId}/${request.appInstanceUserId}`));
  const consumed = await consume(context, expected, eventsBefore);
  const audited = await audit(context, tenants, expected, consumed);
  const statsAfter = emulator.stats();
  const seconds = (consumed.lastCreatedAt - consumed.started) / 1000;
  return {
    label,
    requests: requests.length,
    messages: messages.length,
    ...audited,
    deadLettered: consumed.deadLettered.size,
    seconds,
    createsPerSecond: audited.created / seconds,
    availablePerSecond: context.availablePerSecond,
    chimeThrottled:
      sum(statsAfter.throttled) - sum(statsBefore.throttled) - (statsAfter.faults - statsBefore.faults),
    faults: statsAfter.faults - statsBefore.faults,
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((total, value) => total + value, 0);
}
