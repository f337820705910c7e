import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeInvalidBody, type Handled, QueueDriver } from '../../../shared/aws/queue-driver';
import { ChimeCallError, TerminalError } from '../../../shared/errors';
import { FakeTransport, recordingLog, sqsRecord } from '../../support/fakes';

const schema = z.strictObject({
  tenantId: z.string().regex(/^[a-z]+$/, 'must be lowercase letters'),
  n: z.number(),
});
type Message = z.infer<typeof schema>;
const context = {} as Context;

function driverWith(
  handle: (message: Message, send: (bodies: readonly unknown[]) => Promise<void>) => Promise<Handled>,
  options: { receiveLimit?: number; onDeadLettered?: () => Promise<void> } = {},
) {
  const transport = new FakeTransport(options.receiveLimit ?? 5);
  const log = recordingLog();
  const handled: Message[] = [];
  const driver = new QueueDriver<Message>({
    kind: 'reconcile',
    schema,
    transport,
    retry: { baseSeconds: 30, capSeconds: 900 },
    log,
    random: () => 0,
    describeInvalid: (body) => describeInvalidBody(schema, body),
    handle: async (message, _delivery, send) => {
      handled.push(message);
      return handle(message, send);
    },
    ...(options.onDeadLettered ? { onDeadLettered: options.onDeadLettered } : {}),
  });
  return { driver, transport, log, handled };
}

const ok = async (): Promise<Handled> => undefined;

describe('QueueDriver', () => {
  it('parses each body with its schema and hands the typed message over; send goes to its own queue', async () => {
    const { driver, transport, handled } = driverWith(async (_message, send) => {
      await send([{ next: 1 }]);
      return undefined;
    });
    const response = await driver.run({ Records: [sqsRecord('{"tenantId":"acme","n":1}')] }, context);
    expect(response.batchItemFailures).toEqual([]);
    expect(handled).toEqual([{ tenantId: 'acme', n: 1 }]);
    expect(transport.sent).toEqual([{ kind: 'reconcile', body: { next: 1 } }]);
  });

  it('dead-letters an invalid body at once, naming the field but never quoting the body', async () => {
    const { driver, transport, handled } = driverWith(ok);
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
    const response = await driver.run({ Records: [sqsRecord('{"tenantId":"acme","n":1}')] }, context);
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

  it('retries a retryable failure after the backoff of its receive count, failing only that record', async () => {
    const throttled = new ChimeCallError(
      'CreateAppInstanceUser',
      'throttled',
      'ThrottledClientException',
      429,
    );
    const { driver, transport } = driverWith(async (message) => {
      if (message.n === 2) throw throttled;
      return undefined;
    });
    const response = await driver.run(
      {
        Records: [
          sqsRecord('{"tenantId":"acme","n":1}', { messageId: 'a' }),
          sqsRecord('{"tenantId":"acme","n":2}', { messageId: 'b', receiveCount: 3 }),
        ],
      },
      context,
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'b' }]);
    // Third receive, base 30 s: ceiling 120 s, equal jitter with random 0 → 60 s.
    expect(transport.visibility).toEqual([{ messageId: 'b', seconds: 60 }]);
    expect(transport.deadLetters).toEqual([]);
  });

  it("uses the handler's own retry delay when it gives one", async () => {
    const { driver, transport } = driverWith(async () => ({
      retryAfterSeconds: 42,
      error: new Error('later'),
    }));
    const response = await driver.run({ Records: [sqsRecord('{"tenantId":"acme","n":1}')] }, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(transport.visibility).toEqual([{ messageId: 'm-1', seconds: 42 }]);
  });

  it('recognises the last attempt: no backoff, dead-lettered at once with the last error', async () => {
    const { driver, transport } = driverWith(
      async () => {
        throw new Error('DynamoDB unavailable');
      },
      { receiveLimit: 3 },
    );
    const response = await driver.run(
      { Records: [sqsRecord('{"tenantId":"acme","n":1}', { receiveCount: 3 })] },
      context,
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(transport.visibility).toEqual([]);
    expect(transport.deadLetters).toEqual([
      {
        messageId: 'm-1',
        reason: 'retries-exhausted',
        detail: 'failed on receive 3, the last: Error: DynamoDB unavailable',
      },
    ]);
  });
});
