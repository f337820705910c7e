import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { Runtime } from '../../shared/composition-root';
import { createLogger, createMetrics, lambdaContext, MetricUnit } from '../../shared/observability';
import { type ScheduleResult, scheduleSync } from '../../shared/sync/schedule';

const logger = createLogger('schedule-sync');
const metrics = createMetrics('schedule-sync');
const runtime = new Runtime();

/** EventBridge schedule → one reconcile message per enabled tenant. */
export const handler = middy(async (): Promise<ScheduleResult> => {
  const result = await scheduleSync({
    policies: runtime.policyStore,
    runs: runtime.runs,
    queue: runtime.reconcileQueue(),
    now: Date.now,
  });
  logger.info('tenants queued for reconciliation', { queued: result.queued, skipped: result.skipped });
  metrics.addMetric('TenantsQueued', MetricUnit.Count, result.queued.length);
  metrics.addMetric('TenantsSkipped', MetricUnit.Count, result.skipped.length);
  return result;
})
  .use(lambdaContext(logger))
  .use(logMetrics(metrics));
