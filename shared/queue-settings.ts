import queueDefinitions from '../infra/queues.json' with { type: 'json' };
import { MAX_VISIBILITY_SECONDS, type VisibilityBackoff } from './backoff';
import type { Config } from './config';

/**
 * The one source of queue settings: infra/queues.json, which serverless.yml deploys too, and the retry
 * backoff of each queue's consumer (the configuration). Lives beside the configuration, not in an adapter:
 * a backoff is checked against the queue it delays.
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

/**
 * How long a failed message of the queue stays invisible before SQS delivers it again (its consumer's retry
 * backoff, configured per queue), checked against the queue.
 */
export function retryBackoffOf(config: Config, kind: QueueKind): VisibilityBackoff {
  switch (kind) {
    case 'onboarding':
      return checkRetryBackoff(kind, {
        baseSeconds: config.onboardingRetryBaseSeconds,
        capSeconds: config.onboardingRetryCapSeconds,
      });
    case 'reconcile':
      return checkRetryBackoff(kind, {
        baseSeconds: config.syncRetryBaseSeconds,
        capSeconds: config.syncRetryCapSeconds,
      });
    case 'activity':
      return checkRetryBackoff(kind, {
        baseSeconds: config.activityRetryBaseSeconds,
        capSeconds: config.activityRetryCapSeconds,
      });
  }
}

/**
 * Throws when a backoff could hide a message for longer than its queue keeps it: with 8 receives and a
 * 5 minute cap a message lives well under an hour of backoff, against 14 days of retention.
 */
export function checkRetryBackoff(kind: QueueKind, backoff: VisibilityBackoff): VisibilityBackoff {
  const { baseSeconds, capSeconds } = backoff;
  if (!(Number.isFinite(baseSeconds) && baseSeconds >= 1)) {
    throw new RangeError(`${kind} retry base must be at least 1 second, got ${baseSeconds}`);
  }
  if (!(Number.isFinite(capSeconds) && capSeconds >= baseSeconds && capSeconds <= MAX_VISIBILITY_SECONDS)) {
    throw new RangeError(
      `${kind} retry cap must be between the base (${baseSeconds} s) and ${MAX_VISIBILITY_SECONDS} s, got ${capSeconds}`,
    );
  }
  const { maxReceiveCount, messageRetentionPeriodSeconds } = QUEUE_SETTINGS[kind];
  if (capSeconds * maxReceiveCount >= messageRetentionPeriodSeconds) {
    throw new RangeError(
      `${kind} retry cap ${capSeconds} s × ${maxReceiveCount} receives would outlast the queue's retention`,
    );
  }
  return backoff;
}
