import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { QUEUE_SETTINGS } from '../../shared/aws/queues';
import { Runtime } from '../../shared/composition-root';
import { asLog, createLogger, createMetrics, MetricUnit } from '../../shared/observability';
import { reconcileMessageSchema } from '../../shared/sync/messages';
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
    const outcome = await reconcileTenant(
      parsed.data,
      runtime.reconcileDeps({
        log: asLog(logger),
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        finalAttempt: receiveCount >= QUEUE_SETTINGS.reconcile.maxReceiveCount,
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
    }
  } finally {
    const after = runtime.chimeAttempts.total();
    metrics.addMetric('ChimeCalls', MetricUnit.Count, after.attempts - before.attempts);
    metrics.addMetric('ChimeThrottled', MetricUnit.Count, after.throttled - before.throttled);
    logger.removeKeys(['tenantId']);
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
