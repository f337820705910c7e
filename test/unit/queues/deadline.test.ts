import type { Context, SQSRecord } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { QueueDriver } from '../../../shared/aws/queue-driver';
import { defaultDeadlineMarginMs } from '../../../shared/aws/queue-records';
import { isAccountBucket } from '../../../shared/chime/quotas';
import { RateLimiter } from '../../../shared/chime/rate-limiter';
import { limiterCapacity } from '../../../shared/composition/onboarding';
import { requestsBeyondCapacity } from '../../../shared/onboarding/capacity';
import { FakeTransport, recordingLog, sqsRecord } from '../../support/fakes';

/**
 * The invocation deadline of the queue driver, on fakes under simulated time: the records of a batch run
 * side by side and queue behind one rate limiter (onboarding's shape), which here serves 10 per second.
 */

const schema = z.strictObject({ id: z.string() });
type Message = z.infer<typeof schema>;

/** A Lambda context whose clock is simulated time: `timeoutMs` from now. */
function lambdaContext(timeoutMs: number): Context {
  const endsAt = Date.now() + timeoutMs;
  return { getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()) } as unknown as Context;
}

function setup(options: { receiveLimit?: number; marginMs?: number } = {}) {
  const transport = new FakeTransport(options.receiveLimit ?? 5);
  const limiter = new RateLimiter({ rateFor: () => 10, burstSeconds: 0.1, clock: { now: () => Date.now() } });
  const processed: { id: string; at: number }[] = [];
  const started: string[] = [];
  const driver = new QueueDriver<Message>({
    kind: 'onboarding',
    schema,
    transport,
    retry: { baseSeconds: 2, capSeconds: 300 },
    log: recordingLog(),
    ...(options.marginMs === undefined ? {} : { deadlineMarginMs: options.marginMs }),
    handle: async (message, record) => {
      started.push(message.id);
      // The Chime call's wait for its rate token, bounded by the deadline as the Chime client bounds it.
      await limiter.acquire(['account'], record.deadline);
      processed.push({ id: message.id, at: Date.now() });
      return undefined;
    },
  });
  return { driver, transport, processed, started, limiter };
}

const batch = (count: number, receiveCount = 1): SQSRecord[] =>
  Array.from({ length: count }, (_, index) =>
    sqsRecord(JSON.stringify({ id: `r${index}` }), { messageId: `r${index}`, receiveCount }),
  );

beforeEach(() => {
  vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('QueueDriver deadline', () => {
  it('records still waiting behind the rate limiter at the deadline come back at once with a short visibility; those before it are processed; nothing is lost', async () => {
    // A 1 s invocation that keeps 450 ms back: its deadline is at 550 ms.
    const { driver, transport, processed, started, limiter } = setup({ marginMs: 450 });
    const records = batch(10);
    let doneAt: number | undefined;
    const response = driver.run({ Records: records }, lambdaContext(1_000)).then((result) => {
      doneAt = Date.now();
      return result;
    });
    await vi.advanceTimersByTimeAsync(2_000);
    const { batchItemFailures } = await response;
    // Every record started at once (side by side); the limiter served one per 100 ms until 550 ms.
    expect(started).toHaveLength(10);
    expect(processed.map((entry) => entry.at)).toEqual([0, 100, 200, 300, 400, 500]);
    const failed = batchItemFailures.map((failure) => failure.itemIdentifier);
    expect(failed).toEqual(['r6', 'r7', 'r8', 'r9']);
    // Nothing lost: each record is either processed or handed back, never both.
    expect([...processed.map((entry) => entry.id), ...failed].sort()).toEqual(
      records.map((record) => record.messageId).sort(),
    );
    // At once: the batch ended at the deadline, not when the limiter would have served the last (900 ms).
    expect(doneAt).toBe(550);
    expect(transport.visibility.map((entry) => entry.messageId)).toEqual(failed);
    for (const { seconds } of transport.visibility) {
      expect(seconds).toBeGreaterThanOrEqual(2);
      expect(seconds).toBeLessThanOrEqual(4);
    }
    // Not the records' fault: no backoff on their receive count, nothing dead-lettered, and the limiter
    // has nobody left waiting.
    expect(transport.deadLetters).toEqual([]);
    expect(limiter.stats().waiting).toBe(0);
  });

  it('takes no record once the deadline has passed: the handler never sees it', async () => {
    const { driver, transport, started } = setup({ marginMs: 450 });
    // The queue's receive limit, read before a record is taken, answers only after the deadline (550 ms).
    const limit = transport.maxReceiveCount.bind(transport);
    transport.maxReceiveCount = () => new Promise((resolve) => setTimeout(() => resolve(limit()), 600));
    const response = driver.run({ Records: batch(3) }, lambdaContext(1_000));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toEqual([]);
    expect((await response).batchItemFailures).toHaveLength(3);
    expect(transport.visibility).toHaveLength(3);
  });

  it('at its last receive a record handed back is sent again as a fresh copy instead of failing into the DLQ', async () => {
    const { driver, transport, processed } = setup({ receiveLimit: 3, marginMs: 450 });
    const records = batch(8, 3);
    const response = driver.run({ Records: records }, lambdaContext(1_000));
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await response).batchItemFailures).toEqual([]);
    expect(processed.map((entry) => entry.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    expect(transport.requeued.map(({ messageId, body }) => ({ messageId, body }))).toEqual(
      records.slice(6).map(({ messageId, body }) => ({ messageId, body })),
    );
    expect(transport.visibility).toEqual([]);
    expect(transport.deadLetters).toEqual([]);
  });

  it('keeps by default a fifth of the invocation, from 1 s to 60 s, and never more than half of it', async () => {
    expect(defaultDeadlineMarginMs(120_000)).toBe(24_000);
    expect(defaultDeadlineMarginMs(900_000)).toBe(60_000);
    expect(defaultDeadlineMarginMs(3_000)).toBe(1_000);
    // A margin configured above half the time left still lets the first half of the invocation work.
    const { driver, processed } = setup({ marginMs: 60_000 });
    const response = driver.run({ Records: batch(10) }, lambdaContext(1_000));
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await response).batchItemFailures).toHaveLength(5);
    expect(processed.map((entry) => entry.at)).toEqual([0, 100, 200, 300, 400]);
  });
});

describe('QueueDriver: records beyond their capacity before the deadline', () => {
  const tenantSchema = z.strictObject({ id: z.string(), tenant: z.string() });
  type TenantMessage = z.infer<typeof tenantSchema>;
  const arnOf = (tenant: string) => `arn:aws:chime:us-east-1:111122223333:app-instance/${tenant}`;

  /** onboarding's shape on fakes: per-tenant create buckets of 10/s, the real estimate over them. */
  function tenantSetup(options: { estimate?: 'real' | 'failing'; receiveLimit?: number } = {}) {
    const transport = new FakeTransport(options.receiveLimit ?? 5);
    const limiter = new RateLimiter({
      rateFor: (key) => (isAccountBucket(key) ? 1_000 : 10),
      burstSeconds: 0.1,
      clock: { now: () => Date.now() },
    });
    const capacity = limiterCapacity(limiter);
    const processed: { id: string; at: number }[] = [];
    const log = recordingLog();
    const driver = new QueueDriver<TenantMessage>({
      kind: 'onboarding',
      schema: tenantSchema,
      transport,
      retry: { baseSeconds: 2, capSeconds: 300 },
      log,
      deadlineMarginMs: 450,
      beyondCapacity: async (batch, horizonMs) => {
        if (options.estimate === 'failing') throw new Error('policy table unavailable');
        return requestsBeyondCapacity(
          batch.map(({ messageId, message }) => ({ messageId, tenantId: message.tenant })),
          horizonMs,
          {
            policies: {
              get: async (tenantId) => ({ enabled: true, appInstanceArn: arnOf(tenantId) }) as never,
            },
            capacity,
          },
        );
      },
      handle: async (message, record) => {
        await limiter.acquire(capacity.bucketsOfCreate(arnOf(message.tenant)), record.deadline);
        processed.push({ id: message.id, at: Date.now() });
        return undefined;
      },
    });
    return { driver, transport, processed, log };
  }

  const tenantBatch = (tenant: string, count: number, receiveCount = 1): SQSRecord[] =>
    Array.from({ length: count }, (_, index) =>
      sqsRecord(JSON.stringify({ id: `${tenant}${index}`, tenant }), {
        messageId: `${tenant}${index}`,
        receiveCount,
      }),
    );

  it("hands back at once what a tenant's quota cannot serve before the deadline; the rest, another tenant's included, proceeds; nothing lost", async () => {
    const { driver, transport, processed } = tenantSetup();
    // A 2 s invocation keeping 450 ms: 1.55 s for A's bucket of 10/s with 1 token now: 16 of A's 30.
    const records = [...tenantBatch('a', 30), ...tenantBatch('b', 3)];
    let doneAt: number | undefined;
    const response = driver.run({ Records: records }, lambdaContext(2_000)).then((result) => {
      doneAt = Date.now();
      return result;
    });
    await vi.advanceTimersByTimeAsync(2_000);
    const failed = (await response).batchItemFailures.map((failure) => failure.itemIdentifier);
    expect(failed).toEqual(Array.from({ length: 14 }, (_, index) => `a${16 + index}`));
    // Handed back at the start (2-4 s), not at the deadline: their visibility was set before any wait.
    expect(transport.visibility.map((entry) => entry.messageId)).toEqual(failed);
    for (const { seconds } of transport.visibility) expect(seconds).toBeGreaterThanOrEqual(2);
    // B's requests did not wait behind A's: served at their own bucket's pace (10/s, one token of burst).
    expect(processed.filter((entry) => entry.id.startsWith('b')).map((entry) => entry.at)).toEqual([
      0, 100, 200,
    ]);
    // A's 16 were served before the deadline (1.55 s), so the deadline handed back nothing more.
    expect(processed.filter((entry) => entry.id.startsWith('a'))).toHaveLength(16);
    expect(doneAt).toBeLessThanOrEqual(1_500);
    // Nothing lost, nothing twice: each record either processed or handed back.
    expect([...processed.map((entry) => entry.id), ...failed].sort()).toEqual(
      records.map((record) => record.messageId).sort(),
    );
    expect(transport.deadLetters).toEqual([]);
  });

  it('at its last receive a record beyond capacity is sent again as a fresh copy, not failed into the DLQ', async () => {
    const { driver, transport } = tenantSetup({ receiveLimit: 3 });
    const records = tenantBatch('a', 20, 3);
    const response = driver.run({ Records: records }, lambdaContext(2_000));
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await response).batchItemFailures).toEqual([]);
    expect(transport.requeued.map((entry) => entry.messageId)).toEqual(
      Array.from({ length: 4 }, (_, index) => `a${16 + index}`),
    );
    expect(transport.deadLetters).toEqual([]);
  });

  it('a failed estimate hands back nothing (the deadline still does its part) and says so', async () => {
    const { driver, transport, processed, log } = tenantSetup({ estimate: 'failing' });
    const response = driver.run({ Records: tenantBatch('a', 20) }, lambdaContext(2_000));
    await vi.advanceTimersByTimeAsync(2_000);
    const failed = (await response).batchItemFailures.map((failure) => failure.itemIdentifier);
    // Served one per 100 ms until the deadline at 1.55 s, the rest handed back there.
    expect(processed).toHaveLength(16);
    expect(failed).toHaveLength(4);
    expect(transport.visibility).toHaveLength(4);
    expect(log.lines.some(([line]) => line === 'could not estimate the capacity of the batch')).toBe(true);
  });

  it('without a Lambda clock there is no deadline, so nothing is estimated or handed back', async () => {
    const { driver, processed } = tenantSetup();
    const response = driver.run({ Records: tenantBatch('a', 20) }, {} as Context);
    await vi.advanceTimersByTimeAsync(3_000);
    expect((await response).batchItemFailures).toEqual([]);
    expect(processed).toHaveLength(20);
  });
});
