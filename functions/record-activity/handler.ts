import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Runtime } from '../../shared/composition-root';
import { asLog, createLogger, createMetrics, lambdaContext, MetricUnit } from '../../shared/observability';

const logger = createLogger('record-activity');
const metrics = createMetrics('record-activity');
const runtime = new Runtime();

/**
 * Activity queue → moves each user's `lastActiveAt` forward (renewal of active users). A batch
 * writes once per user (its latest event); an invalid event is dead-lettered with its reason.
 */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const driver = runtime.activityDriver(event, {
    log: asLog(logger),
    observe: (outcome) =>
      metrics.addMetric(
        outcome === 'advanced' ? 'Advanced' : outcome === 'stale' ? 'Stale' : 'Coalesced',
        MetricUnit.Count,
        1,
      ),
  });
  return driver.run(event, context);
})
  .use(lambdaContext(logger))
  .use(logMetrics(metrics));
