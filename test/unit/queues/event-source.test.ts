import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { createContext, parseQueueArn, planBatch, toSqsEvent } from '../../../local/event-source-runner';

const IDS = ['a', 'b', 'c'];

describe('planBatch (Lambda ReportBatchItemFailures semantics)', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty object', {}],
    ['a null list', { batchItemFailures: null }],
    ['an empty list', { batchItemFailures: [] }],
  ])('treats %s as complete success', (_, response) => {
    expect(planBatch(IDS, response)).toEqual({ outcome: 'success', deleteIds: IDS, retryIds: [] });
  });

  it('deletes all but the listed messages', () => {
    expect(planBatch(IDS, { batchItemFailures: [{ itemIdentifier: 'b' }] })).toEqual({
      outcome: 'partial',
      deleteIds: ['a', 'c'],
      retryIds: ['b'],
    });
  });

  it('tolerates a message listed twice', () => {
    expect(
      planBatch(IDS, { batchItemFailures: [{ itemIdentifier: 'c' }, { itemIdentifier: 'c' }] }),
    ).toMatchObject({
      outcome: 'partial',
      retryIds: ['c'],
    });
  });

  it('calls it a failure when every message is listed', () => {
    const plan = planBatch(IDS, { batchItemFailures: IDS.map((itemIdentifier) => ({ itemIdentifier })) });
    expect(plan).toEqual({ outcome: 'failure', deleteIds: [], retryIds: IDS });
  });

  it.each([
    [
      'an unknown itemIdentifier',
      { batchItemFailures: [{ itemIdentifier: 'a' }, { itemIdentifier: 'zzz' }] },
      /zzz/,
    ],
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }, /no itemIdentifier/],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }, /no itemIdentifier/],
    ['a wrongly named key', { batchItemFailures: [{ itemId: 'a' }] }, /no itemIdentifier/],
    ['a null entry', { batchItemFailures: [null] }, /no itemIdentifier/],
    ['a list that is not an array', { batchItemFailures: 'a' }, /not an array/],
    ['a string response', 'ok', /not an object/],
    ['an array response', [], /not an object/],
  ])('fails the whole batch for %s', (_, response, problem) => {
    const plan = planBatch(IDS, response);
    expect(plan).toMatchObject({ outcome: 'failure', deleteIds: [], retryIds: IDS });
    expect(plan.problem).toMatch(problem);
  });

  it('ignores the response without ReportBatchItemFailures', () => {
    expect(planBatch(IDS, { batchItemFailures: [{ itemIdentifier: 'zzz' }] }, false)).toMatchObject({
      outcome: 'success',
      deleteIds: IDS,
    });
  });
});

describe('toSqsEvent', () => {
  const source = { queueArn: 'arn:aws:sqs:eu-west-1:123456789012:jobs', region: 'eu-west-1' };

  it('maps SQS API fields to the Lambda record shape', () => {
    const message: Message = {
      MessageId: 'm-1',
      ReceiptHandle: 'rh-1',
      Body: 'hello',
      MD5OfBody: '5d41402abc4b2a76b9719d911017c592',
      MD5OfMessageAttributes: 'ffffffffffffffffffffffffffffffff',
      Attributes: {
        ApproximateReceiveCount: '2',
        SentTimestamp: '1700000000000',
        SenderId: 'AIDA',
        ApproximateFirstReceiveTimestamp: '1700000000100',
        AWSTraceHeader: 'Root=1-abc',
      },
      MessageAttributes: {
        tenant: { DataType: 'String', StringValue: 't1' },
        count: { DataType: 'Number', StringValue: '3' },
        blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
      },
    };
    expect(toSqsEvent([message], source)).toEqual({
      Records: [
        {
          messageId: 'm-1',
          receiptHandle: 'rh-1',
          body: 'hello',
          attributes: {
            ApproximateReceiveCount: '2',
            SentTimestamp: '1700000000000',
            SenderId: 'AIDA',
            ApproximateFirstReceiveTimestamp: '1700000000100',
            AWSTraceHeader: 'Root=1-abc',
          },
          messageAttributes: {
            tenant: { stringValue: 't1', stringListValues: [], binaryListValues: [], dataType: 'String' },
            count: { stringValue: '3', stringListValues: [], binaryListValues: [], dataType: 'Number' },
            blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
          },
          md5OfBody: '5d41402abc4b2a76b9719d911017c592',
          md5OfMessageAttributes: 'ffffffffffffffffffffffffffffffff',
          eventSource: 'aws:sqs',
          eventSourceARN: source.queueArn,
          awsRegion: 'eu-west-1',
        },
      ],
    });
  });

  it('leaves md5OfMessageAttributes out and messageAttributes empty for a message without attributes', () => {
    const [record] = toSqsEvent(
      [{ MessageId: 'm', ReceiptHandle: 'r', Body: '', MD5OfBody: 'x' }],
      source,
    ).Records;
    expect(record?.messageAttributes).toEqual({});
    expect(record).not.toHaveProperty('md5OfMessageAttributes');
  });
});

describe('createContext', () => {
  it('counts the remaining time down from the timeout', () => {
    let now = 1_000_000;
    const context = createContext({
      functionName: 'reconcile-tenant',
      region: 'us-east-1',
      accountId: '000000000000',
      timeoutMs: 5_000,
      now: () => now,
    });
    expect(context.getRemainingTimeInMillis()).toBe(5_000);
    now += 1_200;
    expect(context.getRemainingTimeInMillis()).toBe(3_800);
    now += 10_000;
    expect(context.getRemainingTimeInMillis()).toBe(0);
    expect(context.invokedFunctionArn).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:reconcile-tenant',
    );
    expect(context.logGroupName).toBe('/aws/lambda/reconcile-tenant');
    expect(() => context.succeed('x')).toThrow(/return a promise/);
  });

  it('gives every invocation its own request id', () => {
    const input = { functionName: 'f', region: 'us-east-1', accountId: '1', timeoutMs: 1 };
    expect(createContext(input).awsRequestId).not.toBe(createContext(input).awsRequestId);
  });
});

describe('parseQueueArn', () => {
  it('reads region, account and name', () => {
    expect(parseQueueArn('arn:aws:sqs:us-east-1:000000000000:q')).toEqual({
      region: 'us-east-1',
      accountId: '000000000000',
      name: 'q',
    });
  });

  it.each(['arn:aws:sns:us-east-1:1:t', 'not-an-arn', 'arn:aws:sqs::1:q'])('rejects %s', (arn) => {
    expect(() => parseQueueArn(arn)).toThrow(/not an SQS queue ARN/);
  });
});
