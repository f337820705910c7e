import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { isSqsError, QUEUE_EXISTS_CODES, queueNameOf } from '../shared/aws/sqs';
import type { Config } from '../shared/config';
import {
  QUEUE_KINDS,
  QUEUE_SETTINGS,
  type QueueKind,
  type QueueSettings,
  queueNamesOf,
} from '../shared/queue-settings';

export interface EnsuredQueue {
  readonly url: string;
  readonly arn: string;
  readonly deadLetterUrl: string;
  readonly deadLetterArn: string;
}

/**
 * Creates the queues and their DLQs for the offline stack and the tests (serverless.ts does it when
 * deployed): provisioning lives with local/, not in the runtime adapters.
 */
export function ensureQueues(
  sqs: SQSClient,
  config: Config,
  overrides: Partial<Record<QueueKind, Partial<QueueSettings>>> = {},
): Promise<Record<QueueKind, EnsuredQueue>> {
  return new QueueProvisioner(sqs).ensureQueues(config, overrides);
}

class QueueProvisioner {
  constructor(private readonly sqs: SQSClient) {}

  /**
   * Creates both queues and their dead-letter queues if missing, and brings the attributes of existing
   * ones in line with infra/queues.json (plus `overrides`, which tests use for short timeouts). Safe to run
   * any number of times.
   */
  async ensureQueues(
    config: Config,
    overrides: Partial<Record<QueueKind, Partial<QueueSettings>>> = {},
  ): Promise<Record<QueueKind, EnsuredQueue>> {
    const ensured = await Promise.all(
      QUEUE_KINDS.map((kind) =>
        this.#ensurePair(queueNamesOf(config, kind), { ...QUEUE_SETTINGS[kind], ...overrides[kind] }),
      ),
    );
    const [onboarding, reconcile, activity] = ensured as [EnsuredQueue, EnsuredQueue, EnsuredQueue];
    return { onboarding, reconcile, activity };
  }

  async #ensurePair(
    names: { queue: string; deadLetterQueue: string },
    settings: QueueSettings,
  ): Promise<EnsuredQueue> {
    // For standard queues a message's retention counts from when it entered the *source* queue, so the DLQ
    // keeps messages at least as long as the source does, or they could expire on arrival.
    const deadLetterUrl = await this.#ensureQueue(queueNameOf(names.deadLetterQueue), {
      MessageRetentionPeriod: String(Math.max(settings.messageRetentionPeriodSeconds, 1_209_600)),
    });
    const deadLetterArn = await this.queueArn(deadLetterUrl);
    const url = await this.#ensureQueue(queueNameOf(names.queue), {
      VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(settings.messageRetentionPeriodSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: deadLetterArn,
        maxReceiveCount: settings.maxReceiveCount,
      }),
    });
    return { url, arn: await this.queueArn(url), deadLetterUrl, deadLetterArn };
  }

  async #ensureQueue(name: string, attributes: Record<string, string>): Promise<string> {
    let url: string;
    try {
      // Creating with the attributes makes a new queue complete from its first moment (no window without
      // its redrive policy).
      url = (await this.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes })))
        .QueueUrl as string;
    } catch (error) {
      // SQS refuses CreateQueue when the queue exists with different attributes; converge instead.
      if (!isSqsError(error, QUEUE_EXISTS_CODES)) throw error;
      url = (await this.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl as string;
      await this.sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
    }
    return url;
  }

  async queueArn(queueUrl: string): Promise<string> {
    const { Attributes } = await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const arn = Attributes?.QueueArn;
    if (!arn) throw new Error(`SQS returned no QueueArn for ${queueUrl}`);
    return arn;
  }
}
