import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Handled, QueueDriver, type RecordContext } from '../../../shared/aws/queue-driver';
import { describeInvalidBody } from '../../../shared/aws/queue-records';
import { ChimeCallError, TerminalError } from '../../../shared/errors';
import { FakeTransport, recordingLog, sqsRecord } from '../../support/fakes';

/** A schema that counts how often a body is checked against it: the driver parses each record once. */
function countingSchema() {
  const counter = { parses: 0 };
  const schema = z.preprocess(
    (value) => {
      counter.parses++;
      return value;
    },
    z.strictObject({ tenantId: z.string().regex(/^[a-z]+$/, 'must be lowercase letters'), n: z.number() }),
  );
  return { schema, counter };
}

type Message = { tenantId: string; n: number };
const context = {} as Context;

function driverWith(
  handle: (message: Message, record: RecordContext<Message>) => Promise<Handled>,
  options: {
    receiveLimit?: number;
    onDeadLettered?: () => Promise<void>;
    onRetriesExhausted?: (message: Message, error: unknown) => Promise<void>;
  } = {},
) {
  const transport = new FakeTransport(options.receiveLimit ?? 5);
  const log = recordingLog();
  const handled: Message[] = [];
  const { schema, counter } = countingSchema();
  const driver = new QueueDriver<Message>({
    kind: 'reconcile',
    schema,
    transport,
    retry: { baseSeconds: 30, capSeconds: 900 },
    log,
    random: () => 0,
    handle: async (message, record) => {
      handled.push(message);
      return handle(message, record);
    },
    ...(options.onDeadLettered ? { onDeadLettered: options.onDeadLettered } : {}),
    ...(options.onRetriesExhausted ? { onRetriesExhausted: options.onRetriesExhausted } : {}),
  });
  return { driver, transport, log, handled, counter };
}

const ok = async (): Promise<Handled> => undefined;
const body = (n: number, tenantId = 'acme') => JSON.stringify({ tenantId, n });

describe('QueueDriver', () => {
  it('parses each body once with its schema and hands the typed message over; send goes to its own queue', async () => {
    const { driver, transport, handled, counter } = driverWith(async (_message, record) => {
      await record.send([{ next: 1 }]);
      return undefined;
    });
    const response = await driver.run({ Records: [sqsRecord(body(1))] }, context);
    expect(response.batchItemFailures).toEqual([]);
    expect(handled).toEqual([{ tenantId: 'acme', n: 1 }]);
    expect(transport.sent).toEqual([{ kind: 'reconcile', body: { next: 1 } }]);
    expect(counter.parses).toBe(1);
  });

  it('gives every record the valid messages of its batch, parsed once each', async () => {
    const batches: unknown[] = [];
    const { driver, counter } = driverWith(async (_message, record) => {
      batches.push(record.batch);
      return undefined;
    });
    await driver.run(
      {
        Records: [
          sqsRecord(body(1), { messageId: 'a' }),
          sqsRecord('{"n":2}', { messageId: 'bad' }),
          sqsRecord(body(3), { messageId: 'c' }),
        ],
      },
      context,
    );
    expect(counter.parses).toBe(3);
    expect(batches).toHaveLength(2);
    expect(batches[0]).toBe(batches[1]);
    expect(batches[0]).toEqual([
      { messageId: 'a', message: { tenantId: 'acme', n: 1 } },
      { messageId: 'c', message: { tenantId: 'acme', n: 3 } },
    ]);
  });

  it('dead-letters an invalid body at once, from its one parse, naming the field but never quoting the body', async () => {
    const reports: unknown[] = [];
    const { driver, transport, handled, counter } = driverWith(ok, {
      onDeadLettered: async (...args: unknown[]) => void reports.push(...args),
    });
    const response = await driver.run(
      {
        Records: [
          sqsRecord('{"tenantId":"Jane Doe","n":1}', { messageId: 'bad' }),
          sqsRecord('Jane Doe', { messageId: 'not-json' }),
        ],
      },
      context,
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(handled).toEqual([]);
    expect(transport.deadLetters).toEqual([
      { messageId: 'bad', reason: 'invalid-message', detail: 'tenantId: must be lowercase letters' },
      { messageId: 'not-json', reason: 'invalid-json', detail: 'the message body is not valid JSON' },
    ]);
    expect(JSON.stringify(transport.deadLetters)).not.toContain('Jane');
    // The JSON-less body never reached the schema; the other was checked once, and reported unparsed.
    expect(counter.parses).toBe(1);
    expect(reports).toMatchObject([
      { messageId: 'bad', message: undefined, failure: { reason: 'invalid-message' } },
      { messageId: 'not-json', message: undefined, failure: { reason: 'invalid-json' } },
    ]);
  });

  it('describes a body by the issues of its one parse: unknown keys are not named', () => {
    const schema = z.strictObject({ n: z.number() });
    const parsed = schema.safeParse({ n: 'x', secret: 1 });
    if (parsed.success) throw new Error('the body should be invalid');
    const failure = describeInvalidBody({ n: 'x', secret: 1 }, parsed.error.issues);
    expect(failure).toBeInstanceOf(TerminalError);
    expect(failure.detail).toMatch(/^n: .*; \(root\): unknown key\(s\)$/);
    expect(failure.detail).not.toContain('secret');
  });

  it('dead-letters a TerminalError at once with its reason, and still succeeds when the report fails', async () => {
    const { driver, transport, log } = driverWith(
      async () => {
        throw new TerminalError('tenant-not-found', 'tenantId: no policy');
      },
      {
        onDeadLettered: async () => {
          throw new Error('EventBridge down');
        },
      },
    );
    const response = await driver.run({ Records: [sqsRecord(body(1))] }, context);
    expect(response.batchItemFailures).toEqual([]);
    expect(transport.deadLetters).toEqual([
      { messageId: 'm-1', reason: 'tenant-not-found', detail: 'tenantId: no policy' },
    ]);
    expect(JSON.stringify(log.lines)).toMatch(/could not report a dead-lettered message/);
  });

  it('fails the record when even the DLQ copy fails, so nothing is lost', async () => {
    const { driver, transport } = driverWith(ok);
    transport.failDeadLetter = new Error('SQS down');
    const response = await driver.run({ Records: [sqsRecord('{}')] }, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
  });

  it('fails a record Lambda built wrong, without dead-lettering it', async () => {
    const { driver, transport } = driverWith(ok);
    const record = { ...sqsRecord(body(1)), eventSource: undefined } as never;
    const response = await driver.run({ Records: [record] }, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(transport.deadLetters).toEqual([]);
  });

  it('retries a failure after the backoff of its receive count, failing only that record', async () => {
    const throttled = new ChimeCallError(
      'CreateAppInstanceUser',
      'throttled',
      'ThrottledClientException',
      429,
    );
    const { driver, transport } = driverWith(async (message) => {
      if (message.n === 2) throw throttled;
      if (message.n === 3) return { retry: throttled };
      return undefined;
    });
    const response = await driver.run(
      {
        Records: [
          sqsRecord(body(1), { messageId: 'a' }),
          sqsRecord(body(2), { messageId: 'b', receiveCount: 3 }),
          sqsRecord(body(3), { messageId: 'c', receiveCount: 1 }),
        ],
      },
      context,
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'b' }, { itemIdentifier: 'c' }]);
    // Base 30 s, equal jitter with random 0: third receive, ceiling 120 s → 60 s; first, 30 s → 15 s.
    expect(transport.visibility).toEqual([
      { messageId: 'b', seconds: 60 },
      { messageId: 'c', seconds: 15 },
    ]);
    expect(transport.deadLetters).toEqual([]);
  });

  it('at the last receive calls onRetriesExhausted once with the message and the error, then dead-letters it', async () => {
    const exhausted: unknown[][] = [];
    const failure = new Error('DynamoDB unavailable');
    const { driver, transport } = driverWith(async () => ({ retry: failure }), {
      receiveLimit: 3,
      onRetriesExhausted: async (message, error) => void exhausted.push([message, error]),
    });
    const response = await driver.run(
      {
        Records: [
          sqsRecord(body(1), { messageId: 'early', receiveCount: 2 }),
          sqsRecord(body(2), { messageId: 'last', receiveCount: 3 }),
        ],
      },
      context,
    );
    expect(exhausted).toEqual([[{ tenantId: 'acme', n: 2 }, failure]]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'early' }]);
    expect(transport.visibility.map((entry) => entry.messageId)).toEqual(['early']);
    expect(transport.deadLetters).toEqual([
      {
        messageId: 'last',
        reason: 'retries-exhausted',
        detail: 'failed on receive 3, the last: Error: DynamoDB unavailable',
      },
    ]);
  });

  it('dead-letters a last receive even when onRetriesExhausted fails, and says so', async () => {
    const { driver, transport, log } = driverWith(
      async () => {
        throw new Error('boom');
      },
      {
        receiveLimit: 2,
        onRetriesExhausted: async () => {
          throw new Error('runs table down');
        },
      },
    );
    const response = await driver.run({ Records: [sqsRecord(body(1), { receiveCount: 2 })] }, context);
    expect(response.batchItemFailures).toEqual([]);
    expect(transport.deadLetters.map((letter) => letter.reason)).toEqual(['retries-exhausted']);
    expect(JSON.stringify(log.lines)).toMatch(/could not settle a message whose retries ran out/);
  });
});
