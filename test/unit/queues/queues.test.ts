import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { describe as describeLetter, formatAge } from '../../../cli/commands/dlq';
import { toDeadLetter } from '../../../shared/aws/dead-letters';
import { chunkEntries, SendBatchError, SqsQueues } from '../../../shared/aws/queues';
import { DEAD_LETTER_ATTRIBUTES, isSqsError, QUEUE_EXISTS_CODES, queueNameOf } from '../../../shared/aws/sqs';

const sqsMock = mockClient(SQSClient);
afterEach(() => sqsMock.reset());

const QUEUE_URL = 'http://sqs.us-east-1.localhost:4566/000000000000/q';
const noSleep = async () => {};

function queuesWithMock(maxAttempts = 3): SqsQueues {
  return new SqsQueues(new SQSClient({ region: 'us-east-1' }), { retry: { maxAttempts }, sleep: noSleep });
}

describe('sendBatch retries', () => {
  it('retries only the entries SQS failed, until they are sent', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: 'a', MessageId: 'A', MD5OfMessageBody: '' }],
        Failed: [{ Id: 'b', Code: 'InternalError', SenderFault: false }],
      })
      .resolvesOnce({ Successful: [{ Id: 'b', MessageId: 'B', MD5OfMessageBody: '' }], Failed: [] });
    const sent = await queuesWithMock().sendBatch(QUEUE_URL, [
      { id: 'a', body: '1' },
      { id: 'b', body: '2' },
    ]);
    expect(sent).toEqual([
      { id: 'a', messageId: 'A' },
      { id: 'b', messageId: 'B' },
    ]);
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.map((entry) => entry.Id))).toEqual([
      ['a', 'b'],
      ['b'],
    ]);
  });

  it('gives up after maxAttempts and names the ids that were not sent', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: { Entries: SendMessageBatchRequestEntry[] }) => ({
      Successful: input.Entries.filter((entry) => entry.Id === 'ok').map((entry) => ({
        Id: entry.Id,
        MessageId: 'M',
      })),
      Failed: input.Entries.filter((entry) => entry.Id !== 'ok').map((entry) => ({
        Id: entry.Id,
        Code: 'ServiceUnavailable',
        Message: 'try later',
        SenderFault: false,
      })),
    }));
    const failure = await queuesWithMock(3)
      .sendBatch(QUEUE_URL, [
        { id: 'ok', body: '1' },
        { id: 'stuck', body: '2' },
      ])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SendBatchError);
    expect((failure as SendBatchError).message).toMatch(
      /1 of 2 message\(s\) not sent .* after up to 3 attempts: stuck \(ServiceUnavailable/,
    );
    expect((failure as SendBatchError).sent).toEqual([{ id: 'ok', messageId: 'M' }]);
    expect((failure as SendBatchError).failed.map((entry) => entry.id)).toEqual(['stuck']);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('does not retry entries SQS blames on the sender', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: 'bad', Code: 'InvalidMessageContents', SenderFault: true }],
    });
    await expect(queuesWithMock(5).sendBatch(QUEUE_URL, [{ id: 'bad', body: '\u0000' }])).rejects.toThrow(
      /bad \(InvalidMessageContents/,
    );
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });

  it('reports the unsent ids when a request fails outright', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: Array.from({ length: 10 }, (_, index) => ({
          Id: `m${index}`,
          MessageId: `M${index}`,
          MD5OfMessageBody: '',
        })),
        Failed: [],
      })
      .rejectsOnce(new Error('socket hang up'));
    const failure = (await queuesWithMock()
      .sendBatch(
        QUEUE_URL,
        Array.from({ length: 12 }, (_, index) => ({ body: String(index) })),
      )
      .catch((error: unknown) => error)) as SendBatchError;
    expect(failure.message).toMatch(/could not send 2 message\(s\).*socket hang up \(ids: m10, m11\)/);
    expect(failure.sent).toHaveLength(10);
  });
});

describe('chunkEntries', () => {
  const entry = (id: string, bytes = 1): SendMessageBatchRequestEntry => ({
    Id: id,
    MessageBody: 'x'.repeat(bytes),
  });

  it('puts at most 10 entries in a batch', () => {
    const chunks = chunkEntries(Array.from({ length: 25 }, (_, index) => entry(`m${index}`)));
    expect(chunks.map((chunk) => chunk.length)).toEqual([10, 10, 5]);
  });

  it('keeps a batch under 256 KiB', () => {
    const chunks = chunkEntries([entry('a', 100_000), entry('b', 100_000), entry('c', 100_000)]);
    expect(chunks.map((chunk) => chunk.map((item) => item.Id))).toEqual([['a', 'b'], ['c']]);
  });
});

describe('queueNameOf', () => {
  it('takes the last path segment of a URL and passes names through', () => {
    expect(queueNameOf('https://sqs.us-east-1.amazonaws.com/123456789012/chime-lifecycle-onboarding')).toBe(
      'chime-lifecycle-onboarding',
    );
    expect(queueNameOf('chime-lifecycle-reconcile')).toBe('chime-lifecycle-reconcile');
  });
});

describe('isSqsError', () => {
  it('matches every protocol name of an error', () => {
    for (const name of ['QueueAlreadyExists', 'AWS.SimpleQueueService.QueueNameExists']) {
      const error = Object.assign(new Error('exists'), { name });
      expect(isSqsError(error, QUEUE_EXISTS_CODES)).toBe(true);
    }
    expect(isSqsError(Object.assign(new Error('x'), { name: 'QueueDoesNotExist' }), QUEUE_EXISTS_CODES)).toBe(
      false,
    );
    expect(isSqsError('QueueAlreadyExists', QUEUE_EXISTS_CODES)).toBe(false);
  });
});

describe('toDeadLetter and the dlq list row', () => {
  const now = Date.parse('2025-01-02T03:04:05Z');
  const message = {
    MessageId: 'm-1',
    Body: JSON.stringify({
      tenantId: 't',
      appInstanceUserId: 'u',
      requestId: 'r',
      name: 'Bob Private',
      metadata: 'm',
    }),
    Attributes: { SentTimestamp: String(now - 90_000), ApproximateReceiveCount: '4' },
    MessageAttributes: {
      [DEAD_LETTER_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'tenant-not-found' },
      [DEAD_LETTER_ATTRIBUTES.receiveCount]: { DataType: 'Number', StringValue: '1' },
    },
  };

  it('prefers the recorded receive count over the DLQ counter that peeks inflate', () => {
    expect(toDeadLetter(message, now)).toMatchObject({
      reason: 'tenant-not-found',
      receiveCount: 1,
      receiveCountRecorded: true,
      ageMs: 90_000,
    });
  });

  it('keeps only identifiers from the body', () => {
    const row = describeLetter(toDeadLetter(message, now));
    expect(row).toMatchObject({ tenantId: 't', appInstanceUserId: 'u', requestId: 'r', ageSeconds: 90 });
    expect(JSON.stringify(row)).not.toMatch(/Bob|Private|metadata/);
  });

  it.each([
    ['[1,2]', 5],
    ['"just a string"', 15],
    ['{"tenantId": 42}', 16],
  ])('shows only the length of a body without string identifiers: %s', (body, bytes) => {
    const row = describeLetter(toDeadLetter({ ...message, Body: body }, now));
    expect(row).not.toHaveProperty('tenantId');
    expect(row.bodyBytes).toBe(bytes);
  });
});

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [59, '59s'],
    [60, '1m'],
    [125, '2m5s'],
    [3_600 * 5 + 60 * 7, '5h7m'],
    [86_400 * 3 + 3_600 * 2, '3d2h'],
  ])('%i s → %s', (seconds, text) => {
    expect(formatAge(seconds)).toBe(text);
  });
});
