import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

/**
 * The shapes Lambda hands a function: the SQS event built from received messages and the invocation
 * context. Pure: no SQS calls.
 */

/** The event Lambda builds from received messages (same field names and value shapes). */
export function toSqsEvent(
  messages: readonly Message[],
  source: { queueArn: string; region: string },
): SQSEvent {
  return { Records: messages.map((message) => toSqsRecord(message, source)) };
}

export function toSqsRecord(message: Message, source: { queueArn: string; region: string }): SQSRecord {
  const system = message.Attributes ?? {};
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ...system,
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? '',
      SenderId: system.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: toLambdaAttributes(message),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: source.queueArn,
    awsRegion: source.region,
  };
  if (message.MD5OfMessageAttributes) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

/** SQS API attributes (`StringValue`, `BinaryValue` bytes) → Lambda's (`stringValue`, base64 `binaryValue`). */
function toLambdaAttributes(message: Message): SQSMessageAttributes {
  const attributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    attributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((bytes) => Buffer.from(bytes).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  return attributes;
}

export function createContext(input: {
  functionName: string;
  region: string;
  accountId: string;
  timeoutMs: number;
  /** `context.memoryLimitInMB` (default 1024). */
  memoryMb?: number;
  now?: () => number;
}): Context {
  const now = input.now ?? Date.now;
  const deadline = now() + input.timeoutMs;
  const unsupported = (): never => {
    throw new Error('context.done/fail/succeed are not supported: return a promise from the handler');
  };
  const day = new Date(now()).toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: input.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${input.region}:${input.accountId}:function:${input.functionName}`,
    memoryLimitInMB: String(input.memoryMb ?? 1024),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${input.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

export function parseQueueArn(arn: string): { region: string; accountId: string; name: string } {
  const [prefix, partition, service, region, accountId, name] = arn.split(':');
  if (prefix !== 'arn' || !partition || service !== 'sqs' || !region || !accountId || !name) {
    throw new Error(`not an SQS queue ARN: ${arn}`);
  }
  return { region, accountId, name };
}
