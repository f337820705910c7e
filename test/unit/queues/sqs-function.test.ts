import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { type FunctionRecord, sqsFunction } from '../../../shared/composition/sqs-function';
import { DEFAULTS } from '../../../shared/config';
import type { LifecycleEvent } from '../../../shared/contracts/lifecycle-events';
import { createMetrics } from '../../../shared/observability';
import { type OnboardRequest, onboardRequestSchema } from '../../../shared/onboarding/message';
import { describeInvalidOnboarding, rejectedEvent } from '../../../shared/onboarding/process-message';
import { FakeTransport, sqsRecord } from '../../support/fakes';

/** The one SQS function shape: what every consumer gets from `sqsFunction`, on an in-memory transport. */

const context = (remainingMs = 30_000) =>
  ({
    functionName: 'test-function',
    functionVersion: '1',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:test-function',
    memoryLimitInMB: '128',
    awsRequestId: 'req-1',
    logGroupName: 'g',
    logStreamName: 's',
    getRemainingTimeInMillis: () => remainingMs,
  }) as unknown as Context;

const event = (...records: SQSEvent['Records']): SQSEvent => ({ Records: records });

beforeAll(() => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  // The metrics middleware's flush: nothing to see here (the tests read addMetric calls), and no warning.
  vi.spyOn(Metrics.prototype, 'publishStoredMetrics').mockImplementation(function (this: Metrics) {
    return this;
  });
});
afterAll(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('sqsFunction', () => {
  it('onboarding parses a body once: valid, or rejected and announced from that one parse', async () => {
    const parses = vi.spyOn(onboardRequestSchema, 'safeParse');
    const transport = new FakeTransport(8);
    const published: LifecycleEvent[] = [];
    const handled: OnboardRequest[] = [];
    const handler = sqsFunction(
      { config: DEFAULTS, transport },
      {
        name: 'onboard-users',
        metrics: createMetrics('onboard-users'),
        queue: 'onboarding',
        schema: onboardRequestSchema,
        describeInvalid: describeInvalidOnboarding,
        handle: async (request) => {
          handled.push(request);
          return undefined;
        },
        onDeadLettered: async ({ failure, message, messageId }) => {
          published.push(rejectedEvent(failure, messageId, message));
        },
      },
    );
    const valid = { tenantId: 'acme', appInstanceUserId: 'u-1', name: 'Jane Secret' };
    const invalid = { tenantId: 'acme', appInstanceUserId: 'u-2', name: 'Jane Secret', nickname: 'JS' };
    await handler(event(sqsRecord(JSON.stringify(valid), { messageId: 'ok' })), context());
    expect(parses).toHaveBeenCalledTimes(1);
    parses.mockClear();
    const response = await handler(
      event(sqsRecord(JSON.stringify(invalid), { messageId: 'bad' })),
      context(),
    );
    // The driver's parse is the only one: the DLQ reason and the rejection event both come from its issues.
    expect(parses).toHaveBeenCalledTimes(1);
    expect(response.batchItemFailures).toEqual([]);
    expect(handled).toEqual([valid]);
    expect(transport.deadLetters).toEqual([
      {
        messageId: 'bad',
        reason: 'invalid-message',
        detail: '(root): unknown key(s) at position(s) 4 (keys are not echoed: they may hold personal data)',
      },
    ]);
    expect(published).toEqual([
      {
        type: 'Onboarding Request Rejected',
        detail: {
          reason: 'invalid-message',
          detail: transport.deadLetters[0]?.detail,
          messageId: 'bad',
          tenantId: 'acme',
          appInstanceUserId: 'u-2',
          requestId: null,
        },
      },
    ]);
    expect(JSON.stringify([published, transport.deadLetters])).not.toContain('Secret');
  });

  it("calls onRetriesExhausted at the queue's last receive only, then dead-letters with the last error", async () => {
    const transport = new FakeTransport(5);
    const exhausted: { message: unknown; error: unknown; record: FunctionRecord<unknown> }[] = [];
    const failure = new Error('the state table is down');
    const metrics = createMetrics('reconcile-tenant');
    const added = vi.spyOn(metrics, 'addMetric');
    const handler = sqsFunction(
      { config: DEFAULTS, transport },
      {
        name: 'reconcile-tenant',
        metrics,
        queue: 'reconcile',
        schema: z.strictObject({ n: z.number() }),
        handle: async () => ({ retry: failure }),
        onRetriesExhausted: async (message, error, record) => void exhausted.push({ message, error, record }),
      },
    );
    const response = await handler(
      event(
        sqsRecord('{"n":4}', { messageId: 'fourth', receiveCount: 4 }),
        sqsRecord('{"n":5}', { messageId: 'fifth', receiveCount: 5 }),
      ),
      context(),
    );
    expect(exhausted.map(({ message, error }) => ({ message, error }))).toEqual([
      { message: { n: 5 }, error: failure },
    ]);
    // The callback gets the function's log and metrics with the record, never a receive count.
    expect(exhausted[0]?.record).toMatchObject({ messageId: 'fifth', metrics });
    expect(exhausted[0]?.record).not.toHaveProperty('attempt');
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'fourth' }]);
    expect(transport.deadLetters).toEqual([
      {
        messageId: 'fifth',
        reason: 'retries-exhausted',
        detail: 'failed on receive 5, the last: Error: the state table is down',
      },
    ]);
    // The retried one waits out the reconcile queue's configured backoff: 4th receive, base 30 s, cap 900 s.
    const [retried] = transport.visibility;
    expect(retried?.messageId).toBe('fourth');
    expect(retried?.seconds).toBeGreaterThanOrEqual(120);
    expect(retried?.seconds).toBeLessThanOrEqual(240);
    expect(added).toHaveBeenCalledWith('Rejected', 'Count', 1);
  });

  it("takes each queue's retry backoff from the configuration (activity's too)", async () => {
    const transport = new FakeTransport(5);
    const handler = sqsFunction(
      { config: { ...DEFAULTS, activityRetryBaseSeconds: 40, activityRetryCapSeconds: 40 }, transport },
      {
        name: 'record-activity',
        metrics: createMetrics('record-activity'),
        queue: 'activity',
        schema: z.strictObject({ n: z.number() }),
        handle: async () => {
          throw new Error('DynamoDB throttled');
        },
      },
    );
    await handler(event(sqsRecord('{"n":1}', { receiveCount: 3 })), context());
    // Equal jitter on a 40 s ceiling: 20-40 s.
    const seconds = transport.visibility[0]?.seconds ?? 0;
    expect(seconds).toBeGreaterThanOrEqual(20);
    expect(seconds).toBeLessThanOrEqual(40);
  });

  it('hands back a record still waiting at the deadline, counts it as Deferred, and never calls it a failure', async () => {
    const transport = new FakeTransport(5);
    const metrics = createMetrics('onboard-users');
    const added = vi.spyOn(metrics, 'addMetric');
    const handler = sqsFunction(
      { config: DEFAULTS, transport },
      {
        name: 'onboard-users',
        metrics,
        queue: 'onboarding',
        schema: z.strictObject({ n: z.number() }),
        deadlineMarginMs: 950,
        // Waits for something that only the deadline ends (a rate limiter's token that never comes).
        handle: (_message, record) =>
          new Promise((_resolve, reject) =>
            record.deadline.addEventListener('abort', () => reject(record.deadline.reason)),
          ),
      },
    );
    // 1 s left, 950 ms kept back (capped at half: 500 ms): the deadline is 500 ms away.
    const response = await handler(event(sqsRecord('{"n":1}')), context(1_000));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(transport.deadLetters).toEqual([]);
    expect(transport.visibility[0]?.seconds).toBeLessThanOrEqual(4);
    expect(added).toHaveBeenCalledWith('Deferred', 'Count', 1);
  });
  it('hands back at once what the function says its capacity cannot serve before the deadline, counted as DeferredBeyondCapacity', async () => {
    const transport = new FakeTransport(5);
    const metrics = createMetrics('onboard-users');
    const added = vi.spyOn(metrics, 'addMetric');
    const handled: number[] = [];
    const horizons: number[] = [];
    const handler = sqsFunction(
      { config: DEFAULTS, transport },
      {
        name: 'onboard-users',
        metrics,
        queue: 'onboarding',
        schema: z.strictObject({ n: z.number() }),
        deadlineMarginMs: 1_000,
        beyondCapacity: async (batch, horizonMs) => {
          horizons.push(horizonMs);
          return new Set(batch.filter(({ message }) => message.n > 1).map(({ messageId }) => messageId));
        },
        handle: async (message) => {
          handled.push(message.n);
          return undefined;
        },
      },
    );
    const response = await handler(
      event(
        sqsRecord('{"n":1}', { messageId: 'm-1' }),
        sqsRecord('{"n":2}', { messageId: 'm-2' }),
        sqsRecord('not json', { messageId: 'm-3' }),
      ),
      context(30_000),
    );
    // The estimate sees the valid records and the time until the deadline (30 s - 1 s kept back).
    expect(horizons).toEqual([29_000]);
    expect(handled).toEqual([1]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-2' }]);
    expect(transport.visibility.map(({ messageId }) => messageId)).toEqual(['m-2']);
    expect(transport.deadLetters.map(({ messageId }) => messageId)).toEqual(['m-3']);
    expect(added).toHaveBeenCalledWith('DeferredBeyondCapacity', 'Count', 1);
    expect(added).not.toHaveBeenCalledWith('Deferred', 'Count', 1);
  });
});
