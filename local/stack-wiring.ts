import type { FailureQueueId, WORK_QUEUE_IDS } from '../functions/declaration';
import type { LogicalTable } from '../shared/aws/tables';
import type { QueueKind } from '../shared/queue-settings';
import type { ResolvedFunction, ResolvedTrigger } from './serverless-settings';

/**
 * What the local stack wires for each declared function, as a plain description (no servers): which runner
 * delivers its trigger and with which settings. startLocalStack wires exactly this list, and a test compares
 * it with what the packaged template wires (test/integration/deploy/package.test.ts), so the local stack and
 * AWS cannot drift apart. Settings only Lambda applies are named in `awsOnly`, with the reason.
 */

export type LocalTrigger =
  | {
      readonly kind: 'sqs';
      /** The queue of shared/queue-settings.ts (local names come from the configuration). */
      readonly queue: QueueKind;
      readonly batchSize: number;
      readonly maximumBatchingWindowSeconds: number;
      /** What the declaration deploys. */
      readonly maximumConcurrency: number;
      /** What the pollers run: the deployed maximum (capped by reserved concurrency) unless overridden. */
      readonly concurrency: number;
      readonly concurrencyFrom: 'declaration' | 'options';
      readonly reportBatchItemFailures: boolean;
    }
  | {
      readonly kind: 'stream';
      readonly table: LogicalTable;
      readonly batchSize: number;
      readonly startingPosition: 'LATEST' | 'TRIM_HORIZON';
      readonly bisectBatchOnFunctionError: boolean;
      /** -1: until the record expires. */
      readonly maximumRetryAttempts: number;
      /** -1: no limit. */
      readonly maximumRecordAgeSeconds: number;
      /** Where a batch given up on is reported (a local queue of the same name: local/queue-provisioning.ts). */
      readonly onFailureQueue?: FailureQueueId;
    }
  | {
      readonly kind: 'schedule';
      /** The deployed expression (for banners); locally the stack runs it every `everyMinutes`. */
      readonly rate: string;
      /** 0: only when asked (`runSchedule()`). */
      readonly everyMinutes: number;
    }
  | {
      readonly kind: 'rule';
      readonly eventBusName: 'default';
      readonly pattern: Readonly<Record<string, unknown>>;
      /** The rule target's retries of a failed delivery (the local EventBridge applies them, with backoff). */
      readonly retryPolicy: {
        readonly maximumRetryAttempts: number;
        readonly maximumEventAgeSeconds: number;
      };
      /** Where an event the rule gives up on goes (a local queue of the same name). */
      readonly deadLetterQueue: FailureQueueId;
    };

export interface LocalFunctionWiring {
  readonly name: ResolvedFunction['name'];
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly trigger: LocalTrigger;
  /** Deployed settings the local runners do not apply, each with why. */
  readonly awsOnly: readonly string[];
}

export interface WiringOptions {
  /** Concurrent invocations per queue, overriding the declarations' maximum concurrency. */
  readonly concurrency?: Partial<Record<QueueKind, number>>;
  /** Minutes between scheduled runs (default 5); 0 turns the schedule off. */
  readonly scheduleMinutes?: number;
}

/** Each work queue of infra/queues.json as shared/queue-settings.ts names it. */
export const QUEUE_KIND: Readonly<Record<(typeof WORK_QUEUE_IDS)[number], QueueKind>> = {
  OnboardingQueue: 'onboarding',
  ReconcileQueue: 'reconcile',
  ActivityQueue: 'activity',
};

export const DEFAULT_SCHEDULE_MINUTES = 5;

/** The local wiring of every function (in declaration order). */
export function localWiring(
  functions: readonly ResolvedFunction[],
  options: WiringOptions = {},
): LocalFunctionWiring[] {
  return functions.map((fn) => {
    const { trigger, awsOnly } = localTrigger(fn, fn.trigger, options);
    return {
      name: fn.name,
      timeoutSeconds: fn.timeoutSeconds,
      memoryMb: fn.memoryMb,
      trigger,
      awsOnly: [
        ...awsOnly,
        ...(fn.reservedConcurrency !== undefined && trigger.kind !== 'sqs'
          ? [`reservedConcurrency ${fn.reservedConcurrency}: only the SQS pollers cap concurrency locally`]
          : []),
      ],
    };
  });
}

function localTrigger(
  fn: ResolvedFunction,
  trigger: ResolvedTrigger,
  options: WiringOptions,
): { trigger: LocalTrigger; awsOnly: string[] } {
  switch (trigger.type) {
    case 'sqs': {
      const queue = QUEUE_KIND[trigger.queue];
      const override = options.concurrency?.[queue];
      const deployed =
        fn.reservedConcurrency === undefined
          ? trigger.maximumConcurrency
          : Math.min(trigger.maximumConcurrency, fn.reservedConcurrency);
      return {
        trigger: {
          kind: 'sqs',
          queue,
          batchSize: trigger.batchSize,
          maximumBatchingWindowSeconds: trigger.maximumBatchingWindowSeconds,
          maximumConcurrency: trigger.maximumConcurrency,
          concurrency: override ?? deployed,
          concurrencyFrom: override === undefined ? 'declaration' : 'options',
          reportBatchItemFailures: trigger.reportBatchItemFailures,
        },
        awsOnly: [],
      };
    }
    case 'dynamodbStream':
      return {
        trigger: {
          kind: 'stream',
          table: trigger.table,
          batchSize: trigger.batchSize,
          startingPosition: trigger.startingPosition,
          bisectBatchOnFunctionError: trigger.bisectBatchOnFunctionError,
          maximumRetryAttempts: trigger.maximumRetryAttempts,
          maximumRecordAgeSeconds: trigger.maximumRecordAgeSeconds,
          ...(trigger.onFailureQueue ? { onFailureQueue: trigger.onFailureQueue } : {}),
        },
        awsOnly:
          trigger.batchWindowSeconds === undefined
            ? []
            : [
                `batchWindowSeconds ${trigger.batchWindowSeconds}: records are delivered as soon as they are read`,
              ],
      };
    case 'schedule':
      return {
        trigger: {
          kind: 'schedule',
          rate: trigger.rate,
          everyMinutes: options.scheduleMinutes ?? DEFAULT_SCHEDULE_MINUTES,
        },
        awsOnly: [
          `rate ${trigger.rate}, enabled ${trigger.enabled}: locally every scheduleMinutes (and at runSchedule())`,
        ],
      };
    case 'eventBridge':
      return {
        trigger: {
          kind: 'rule',
          eventBusName: 'default',
          pattern: trigger.pattern,
          retryPolicy: trigger.retryPolicy,
          deadLetterQueue: trigger.deadLetterQueue,
        },
        // In-process, delivering the event and running the function are one step: a failing invocation is
        // retried by the rule's policy, then dead-lettered to the same queue Lambda's destination uses.
        awsOnly: [
          `functionErrorRetries ${trigger.functionErrorRetries.maximumRetryAttempts} within ${trigger.functionErrorRetries.maximumEventAgeSeconds} s: locally a failing invocation is retried by the rule's retryPolicy, then dead-lettered to the same queue`,
        ],
      };
  }
}
