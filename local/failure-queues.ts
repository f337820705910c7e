import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { FailureQueueId } from '../functions/declaration';
import { FAILURE_QUEUE_IDS } from '../functions/declaration';
import type { Config } from '../shared/config';
import { safeErrorText } from '../shared/errors';
import type { DeliveryFailure } from './eventbridge-rules';
import type { StreamFailureRecord } from './stream-failures';

/**
 * The queues where the local triggers' failures end, as the deployed ones do (infra/resources.yml): the
 * policy stream's on-failure destination and the user-removed rule's dead-letter queue. Named after the
 * configuration's bus, as serverless.ts names them after the stage's (`<service>-<stage>` is both the bus's
 * default name and the queues' prefix): `chime-lifecycle-user-removed-dlq` for `npm start`.
 */
const SUFFIX: Readonly<Record<FailureQueueId, string>> = {
  PolicyStreamFailureQueue: 'policy-stream-failures',
  UserRemovedDeadLetterQueue: 'user-removed-dlq',
};

export interface FailureQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
}

export function failureQueueName(config: Config, id: FailureQueueId): string {
  return `${config.eventBus}-${SUFFIX[id]}`;
}

/** Creates the failure queues (kept 14 days, as deployed) if missing; idempotent. */
export async function ensureFailureQueues(
  sqs: SQSClient,
  config: Config,
): Promise<Record<FailureQueueId, FailureQueue>> {
  const entries = await Promise.all(
    FAILURE_QUEUE_IDS.map(async (id): Promise<[FailureQueueId, FailureQueue]> => {
      const name = failureQueueName(config, id);
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { MessageRetentionPeriod: '1209600' } }),
      );
      if (!QueueUrl) throw new Error(`SQS returned no URL for ${name}`);
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      if (!Attributes?.QueueArn) throw new Error(`SQS returned no QueueArn for ${name}`);
      return [id, { name, url: QueueUrl, arn: Attributes.QueueArn }];
    }),
  );
  return Object.fromEntries(entries) as Record<FailureQueueId, FailureQueue>;
}

const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

/**
 * An event a rule gave up on, into its dead-letter queue as EventBridge puts it there: the event as the
 * body, and the attributes EventBridge sets (EventBridge user guide, "Using dead-letter queues"). The error
 * text is reduced by safeErrorText (never a service's message, which may quote a user's data).
 */
export function sendRuleDeadLetter(
  sqs: SQSClient,
  queue: FailureQueue,
  arns: { readonly rule: string; readonly target: string },
  failure: DeliveryFailure,
): Promise<unknown> {
  const error = failure.error instanceof Error ? failure.error : new Error(String(failure.error));
  return sqs.send(
    new SendMessageCommand({
      QueueUrl: queue.url,
      MessageBody: JSON.stringify(failure.event),
      MessageAttributes: {
        RULE_ARN: text(arns.rule),
        TARGET_ARN: text(arns.target),
        ERROR_CODE: text(error.name),
        ERROR_MESSAGE: text(safeErrorText(error).slice(0, 256)),
        EXHAUSTED_RETRY_CONDITION: text(failure.condition),
        RETRY_ATTEMPTS: { DataType: 'Number', StringValue: String(failure.attempts - 1) },
      },
    }),
  );
}

/** A stream batch given up on, into the mapping's on-failure destination: Lambda's invocation record. */
export function sendStreamFailure(
  sqs: SQSClient,
  queue: FailureQueue,
  record: StreamFailureRecord,
): Promise<unknown> {
  return sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(record) }));
}
