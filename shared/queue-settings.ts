import queueDefinitions from '../infra/queues.json' with { type: 'json' };
import type { Config } from './config';

/**
 * The one source of queue settings: infra/queues.json, which serverless.yml deploys too. Lives beside the
 * configuration (not in an adapter) because use cases check their retry backoff against it.
 */
export const QUEUE_KINDS = ['onboarding', 'reconcile', 'activity'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

export function isQueueKind(value: string): value is QueueKind {
  return (QUEUE_KINDS as readonly string[]).includes(value);
}

export interface QueueSettings {
  readonly visibilityTimeoutSeconds: number;
  readonly messageRetentionPeriodSeconds: number;
  /** Deliveries before SQS moves a message to the dead-letter queue (the RedrivePolicy). */
  readonly maxReceiveCount: number;
}

export const QUEUE_SETTINGS: Readonly<Record<QueueKind, QueueSettings>> = {
  onboarding: settingsOf(queueDefinitions.OnboardingQueue),
  reconcile: settingsOf(queueDefinitions.ReconcileQueue),
  activity: settingsOf(queueDefinitions.ActivityQueue),
};

function settingsOf(definition: {
  VisibilityTimeout: number;
  MessageRetentionPeriod: number;
  maxReceiveCount: number;
}): QueueSettings {
  return {
    visibilityTimeoutSeconds: definition.VisibilityTimeout,
    messageRetentionPeriodSeconds: definition.MessageRetentionPeriod,
    maxReceiveCount: definition.maxReceiveCount,
  };
}

/** The configured name-or-URL of a queue and of its dead-letter queue. */
export function queueNamesOf(config: Config, kind: QueueKind): { queue: string; deadLetterQueue: string } {
  switch (kind) {
    case 'onboarding':
      return { queue: config.onboardingQueue, deadLetterQueue: config.onboardingDeadLetterQueue };
    case 'reconcile':
      return { queue: config.reconcileQueue, deadLetterQueue: config.reconcileDeadLetterQueue };
    case 'activity':
      return { queue: config.activityQueue, deadLetterQueue: config.activityDeadLetterQueue };
  }
}
