import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { visibilityDelaySeconds } from '../../shared/backoff';
import { Runtime } from '../../shared/composition-root';
import { asLog, createLogger, createMetrics, MetricUnit } from '../../shared/observability';
import { QUEUE_SETTINGS } from '../../shared/queue-settings';
import { type ReconcileMessage, reconcileMessageSchema } from '../../shared/sync/messages';
import { reconcileTenant } from '../../shared/sync/reconcile-tenant';

const logger = createLogger('reconcile-tenant');
const metrics = createMetrics('reconcile-tenant');
const runtime = new Runtime();

async function reconcileRecord(record: SQSRecord, context: Context): Promise<void> {
  const parsed = reconcileMessageSchema.safeParse(safeJson(record.body));
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    logger.error('invalid reconcile message sent to the DLQ', { messageId: record.messageId, detail });
    await runtime.deadLetter('reconcile', record, 'invalid-message', detail);
    return;
  }
  const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? 1);
  const before = runtime.chimeAttempts.total();
  logger.appendKeys({ tenantId: parsed.data.tenantId });
  try {
    await reconcile(parsed.data, record, context, receiveCount);
  } finally {
    const after = runtime.chimeAttempts.total();
    metrics.addMetric('ChimeCalls', MetricUnit.Count, after.attempts - before.attempts);
    metrics.addMetric('ChimeThrottled', MetricUnit.Count, after.throttled - before.throttled);
    logger.removeKeys(['tenantId']);
  }
}

async function reconcile(
  message: ReconcileMessage,
  record: SQSRecord,
  context: Context,
  receiveCount: number,
) {
  try {
    const outcome = await reconcileTenant(
      message,
      runtime.reconcileDeps({
        log: asLog(logger),
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        finalAttempt: receiveCount >= (await maxReceiveCount()),
      }),
    );
    if (outcome.status === 'finished') {
      const { counters, state } = outcome.run;
      metrics.addMetric('UsersScanned', MetricUnit.Count, counters.scanned);
      metrics.addMetric('UsersChanged', MetricUnit.Count, counters.set + counters.removed);
      metrics.addMetric('UsersHeld', MetricUnit.Count, counters.held);
      metrics.addMetric('UsersRescued', MetricUnit.Count, counters.rescued);
      metrics.addMetric(
        state === 'completed' ? 'RunsCompleted' : state === 'held' ? 'RunsHeld' : 'RunsFailed',
        MetricUnit.Count,
        1,
      );
      if (outcome.exhaustedRetries) {
        // The run is marked failed; failing the message as well lets SQS move it to the reconcile DLQ,
        // where an operator sees it (and can redrive it once Chime is healthy).
        throw new Error(
          `run ${outcome.run.runId} failed after its last attempt: ${outcome.run.reason ?? ''}`,
        );
      }
    }
  } catch (error) {
    // The step failed in a retryable way (the use case finished the run itself otherwise): it comes back
    // after a backoff on its receive count (30 s, 60 s, ... up to 15 min by default) rather than the queue's
    // 16-minute visibility timeout, and after the queue's receive limit SQS moves it to the reconcile DLQ.
    const delaySeconds = visibilityDelaySeconds(receiveCount, {
      baseSeconds: runtime.config.syncRetryBaseSeconds,
      capSeconds: runtime.config.syncRetryCapSeconds,
    });
    try {
      const queueUrl = await runtime.queues.resolveQueueUrl(runtime.config.reconcileQueue);
      await runtime.queues.changeVisibility(queueUrl, record.receiptHandle, delaySeconds);
    } catch (visibilityError) {
      logger.warn('could not set the retry delay of a reconcile message', { error: String(visibilityError) });
    }
    throw error;
  }
}

/** The deployed queue's receive limit (its redrive policy), falling back to infra/queues.json. */
async function maxReceiveCount(): Promise<number> {
  try {
    const queueUrl = await runtime.queues.resolveQueueUrl(runtime.config.reconcileQueue);
    return (await runtime.queues.maxReceiveCount(queueUrl)) ?? QUEUE_SETTINGS.reconcile.maxReceiveCount;
  } catch {
    return QUEUE_SETTINGS.reconcile.maxReceiveCount;
  }
}

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/** SQS → reconcile one tenant (batch size 1); a retryable failure is a batch item failure, retried by SQS. */
export const handler = middy(
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    // One processor per invocation: it holds the batch's state, and a local worker may run invocations
    // concurrently in one process.
    processPartialResponse(event, reconcileRecord, new BatchProcessor(EventType.SQS), { context }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
