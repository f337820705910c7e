import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { type EventSource, type SqsEventHandler, startEventSource } from '../../local/event-source-runner';
import { loadServerlessSettings } from '../../local/serverless-settings';
import { safeErrorText } from '../../shared/errors';
import { isQueueKind, QUEUE_KINDS, type QueueKind, queueNamesOf } from '../../shared/queue-settings';
import { CliError, EXIT_INVALID } from '../errors';
import { nonNegativeIntegerOption, positiveIntegerOption } from '../options';
import { printNote, quoteInput } from '../output';
import { withRuntime } from '../with-runtime';
import { addCommand } from './index';

interface WorkerOptions {
  readonly queue: string;
  readonly batchSize?: string;
  readonly batchingWindow?: string;
  readonly concurrency?: string;
}

/** Lambda's limits for an SQS event source mapping (standard queue). */
const MAX_BATCH_SIZE = 10_000;
const MAX_BATCHING_WINDOW_SECONDS = 300;
/** Lambda's longest timeout; the queue's visibility timeout is the function timeout, as AWS requires. */
const MAX_FUNCTION_TIMEOUT_SECONDS = 900;

/** Imported only when the worker starts: each handler builds its Runtime from the environment on import. */
const HANDLERS: Record<QueueKind, () => Promise<SqsEventHandler>> = {
  onboarding: async () => (await import('../../functions/onboard-users/handler')).handler as SqsEventHandler,
  reconcile: async () =>
    (await import('../../functions/reconcile-tenant/handler')).handler as SqsEventHandler,
  activity: async () => (await import('../../functions/record-activity/handler')).handler as SqsEventHandler,
};

const FUNCTION_NAMES: Record<QueueKind, string> = {
  onboarding: 'onboard-users',
  reconcile: 'reconcile-tenant',
  activity: 'record-activity',
};

export function register(program: Command): void {
  addCommand(program, 'worker')
    .requiredOption('--queue <queue>', `which queue: ${QUEUE_KINDS.join(' or ')}`)
    .option(
      '--batch-size <n>',
      "messages per invocation, 1-10000 (default: the function's in serverless.yml)",
    )
    .option(
      '--batching-window <seconds>',
      "how long a batch is gathered, 0-300; required (>= 1) above 10 messages (default: serverless.yml's)",
    )
    .option('--concurrency <n>', 'invocations in parallel (default 1)')
    .addHelpText(
      'after',
      `
Prints one line per batch (counts only, never message bodies). Stops on SIGINT or SIGTERM after the
batches in flight have finished; messages they did not finish come back after their visibility timeout.`,
    )
    .action(async (options: WorkerOptions) => {
      if (!isQueueKind(options.queue)) {
        throw new CliError(
          `--queue: must be ${QUEUE_KINDS.join(' or ')}, got ${quoteInput(options.queue)}`,
          EXIT_INVALID,
        );
      }
      const kind = options.queue;
      // The deployed mapping's settings (serverless.yml) unless the flags say otherwise.
      const deployed = loadServerlessSettings().sqsEventSource(FUNCTION_NAMES[kind]);
      const batchSize =
        options.batchSize === undefined
          ? deployed.batchSize
          : positiveIntegerOption('--batch-size', options.batchSize);
      if (batchSize > MAX_BATCH_SIZE)
        throw new CliError(`--batch-size: must be 1-${MAX_BATCH_SIZE}, got ${batchSize}`, EXIT_INVALID);
      const batchingWindowSeconds =
        options.batchingWindow === undefined
          ? deployed.maximumBatchingWindowSeconds
          : nonNegativeIntegerOption('--batching-window', options.batchingWindow);
      if (batchingWindowSeconds > MAX_BATCHING_WINDOW_SECONDS)
        throw new CliError(
          `--batching-window: must be 0-${MAX_BATCHING_WINDOW_SECONDS} seconds, got ${batchingWindowSeconds}`,
          EXIT_INVALID,
        );
      if (batchSize > 10 && batchingWindowSeconds < 1)
        throw new CliError(
          `--batch-size ${batchSize} needs --batching-window of at least 1 (Lambda refuses a batch above 10 without one)`,
          EXIT_INVALID,
        );
      const concurrency =
        options.concurrency === undefined ? 1 : positiveIntegerOption('--concurrency', options.concurrency);
      if (concurrency > 100)
        throw new CliError(`--concurrency: must be 1-100, got ${concurrency}`, EXIT_INVALID);

      await withRuntime(async (runtime) => {
        const queueUrl = await runtime.queues.resolveQueueUrl(queueNamesOf(runtime.config, kind).queue);
        const { Attributes } = await runtime.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }),
        );
        const visibilitySeconds = Number(Attributes?.VisibilityTimeout ?? 30);
        const handler = await HANDLERS[kind]();
        const source = await startEventSource({
          sqs: runtime.sqs,
          queueUrl,
          handler: reportingBatches(handler),
          batchSize,
          maximumBatchingWindowSeconds: batchingWindowSeconds,
          concurrency,
          functionName: FUNCTION_NAMES[kind],
          timeoutMs: Math.min(visibilitySeconds, MAX_FUNCTION_TIMEOUT_SECONDS) * 1000,
          onError: (error, info) => {
            line(`${info.phase} failed (${info.messageIds.length} message(s)): ${safeErrorText(error)}`);
          },
        });
        line(
          `consuming ${queueUrl} (batch size ${batchSize}, window ${batchingWindowSeconds} s, concurrency ${concurrency}); Ctrl-C to stop`,
        );
        await untilSignalled(source);
        const stats = source.stats;
        line(
          `stopped: ${stats.batches} batch(es), ${stats.received} received, ${stats.deleted} done, ${stats.retried} left for retry`,
        );
      });
    });
}

/** Wraps the handler to print one line per batch: how many records, how many failed, how long it took. */
function reportingBatches(handler: SqsEventHandler): SqsEventHandler {
  return async (event, context) => {
    const started = performance.now();
    const records = event.Records.length;
    try {
      const response = await handler(event, context);
      const failed = response?.batchItemFailures?.length ?? 0;
      line(
        `batch of ${records}: ${records - failed} done, ${failed} to retry (${Math.round(performance.now() - started)} ms)`,
      );
      return response;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      line(`batch of ${records}: failed (${name}), all ${records} to retry`);
      throw error;
    }
  };
}

/** Resolves after SIGINT or SIGTERM, once the in-flight batches have finished. */
async function untilSignalled(source: EventSource): Promise<void> {
  await new Promise<void>((resolve) => {
    const onInterrupt = () => stop('SIGINT');
    const onTerminate = () => stop('SIGTERM');
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onTerminate);
      line(`${signal}: finishing the batches in flight...`);
      resolve();
    };
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onTerminate);
  });
  await source.stop();
}

function line(text: string): void {
  printNote(`${new Date().toISOString()} worker: ${text}`);
}
