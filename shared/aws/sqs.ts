import {
  type Message,
  type MessageAttributeValue,
  type ReceiveMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type ClientTimeouts, requestHandlerOptions } from './client-timeouts';

/** SQS plumbing shared by the runtime queues, the DLQ tools and local provisioning. */

/** Message attributes this project adds; everything under this prefix is ours and dropped on redrive. */
export const ATTRIBUTE_PREFIX = 'chime-lifecycle.';
export const DEAD_LETTER_ATTRIBUTES = {
  reason: `${ATTRIBUTE_PREFIX}reason`,
  detail: `${ATTRIBUTE_PREFIX}detail`,
  sourceQueue: `${ATTRIBUTE_PREFIX}source-queue`,
  receiveCount: `${ATTRIBUTE_PREFIX}receive-count`,
  firstReceivedAt: `${ATTRIBUTE_PREFIX}first-received-at`,
  deadLetteredAt: `${ATTRIBUTE_PREFIX}dead-lettered-at`,
} as const;
/** Set on a redriven message, so a handler (or an operator) can tell a second attempt from a first. */
export const REDRIVEN_FROM_ATTRIBUTE = `${ATTRIBUTE_PREFIX}redriven-from`;

/**
 * Asks for everything SQS can tell about a message. Both system-attribute parameters, because
 * local-aws-sqs honours only the deprecated `AttributeNames`.
 */
export function receiveEverything(): Pick<
  ReceiveMessageCommandInput,
  'AttributeNames' | 'MessageSystemAttributeNames' | 'MessageAttributeNames'
> {
  return { AttributeNames: ['All'], MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] };
}

/**
 * Builds the SQS client. Kept as the one function that does so, so that it can move into the composition
 * root as is.
 *
 * With a custom endpoint (an explicit one, `AWS_ENDPOINT_URL_SQS` or `AWS_ENDPOINT_URL`) we turn off
 * `useQueueUrlAsEndpoint`. SDK v3's queueUrl middleware (@aws-sdk/middleware-sdk-sqs) otherwise sends each
 * request to the *host of the QueueUrl* whenever no `endpoint` was passed to the constructor, and an
 * endpoint taken from the environment does not count as passed. Emulators hand out URLs whose host is not
 * the endpoint (fauxqs: `sqs.us-east-1.localhost:<port>`, which does not resolve here), so every call with
 * a QueueUrl would fail with ENOTFOUND. Against real AWS (no custom endpoint) the default is kept: queue
 * URLs and the regional endpoint agree, and a URL from another region still reaches its own region.
 */
export function createSqsClient(
  options: { readonly region: string; readonly endpoint?: string; readonly timeouts?: ClientTimeouts },
  env: Readonly<Record<string, string | undefined>> = process.env,
): SQSClient {
  const endpoint = options.endpoint ?? (env.AWS_ENDPOINT_URL_SQS?.trim() || env.AWS_ENDPOINT_URL?.trim());
  return new SQSClient(
    endpoint
      ? {
          region: options.region,
          endpoint,
          useQueueUrlAsEndpoint: false,
          ...requestHandlerOptions(options.timeouts),
        }
      : { region: options.region, ...requestHandlerOptions(options.timeouts) },
  );
}

/**
 * SQS speaks JSON but stays compatible with its old Query protocol: the SDK names an error after the
 * `x-amzn-query-error` header when present, so one condition has several names (AWS says
 * `QueueAlreadyExists` where fauxqs says `AWS.SimpleQueueService.QueueNameExists`). Match them all, and
 * never with `instanceof`, which only sees the JSON name.
 */
export function isSqsError(error: unknown, codes: readonly string[]): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { Code?: unknown }).Code;
  return codes.some((candidate) => error.name === candidate || code === candidate);
}

export const QUEUE_EXISTS_CODES = [
  'QueueNameExists',
  'QueueAlreadyExists',
  'AWS.SimpleQueueService.QueueNameExists',
] as const;
export const QUEUE_MISSING_CODES = [
  'QueueDoesNotExist',
  'NonExistentQueue',
  'AWS.SimpleQueueService.NonExistentQueue',
] as const;

export function isQueueUrl(nameOrUrl: string): boolean {
  return /^https?:\/\//i.test(nameOrUrl);
}

/** The queue name of a name or a queue URL (its last path segment). */
export function queueNameOf(nameOrUrl: string): string {
  if (!isQueueUrl(nameOrUrl)) return nameOrUrl;
  const segments = new URL(nameOrUrl).pathname.split('/').filter(Boolean);
  const name = segments.at(-1);
  if (!name) throw new Error(`not a queue URL: ${nameOrUrl}`);
  return name;
}

export function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

/** The message's attributes minus ours, ready to send again. */
export function originalAttributes(message: Message): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {})
      .filter(([name]) => !name.startsWith(ATTRIBUTE_PREFIX))
      .map(([name, value]) => [
        name,
        value.BinaryValue !== undefined
          ? { DataType: value.DataType, BinaryValue: value.BinaryValue }
          : { DataType: value.DataType, StringValue: value.StringValue },
      ]),
  );
}

/** Flattens a received message's attributes to strings (Binary as base64). */
export function attributeStrings(message: Message): Record<string, string> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      value.StringValue ?? (value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : ''),
    ]),
  );
}
