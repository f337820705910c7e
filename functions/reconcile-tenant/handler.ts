import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { releaseQuotaLeaseAtEnd } from '../../shared/chime/lease-middleware';
import { Runtime } from '../../shared/composition-root';
import { type ReconcileMessage, reconcileMessageSchema } from '../../shared/contracts/reconcile-messages';
import {
  asLog,
  chimeAttemptMetrics,
  countFinishedRun,
  createLogger,
  createMetrics,
  lambdaContext,
} from '../../shared/observability';
import { reconcileStep } from '../../shared/sync/reconcile-step';

const logger = createLogger('reconcile-tenant');
const metrics = createMetrics('reconcile-tenant');
const runtime = new Runtime();

/** SQS → one step of a tenant's run (batch size 1), through the queue driver. */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const driver = runtime.queueDriver<ReconcileMessage>({
    kind: 'reconcile',
    schema: reconcileMessageSchema,
    retry: runtime.reconcileSettings.retry,
    log: asLog(logger),
    handle: async (message, delivery, send) => {
      const deps = runtime.reconcileDeps({
        queue: { send },
        log: asLog(logger),
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        attempt: delivery.attempt,
        finalAttempt: delivery.finalAttempt,
      });
      const result = await reconcileStep(message, deps);
      if (result.kind === 'retryAfter')
        return { retryAfterSeconds: result.delaySeconds, error: result.error };
      if (result.run && result.run.state !== 'running') countFinishedRun(metrics, result.run);
      return undefined;
    },
  });
  return driver.run(event, context);
})
  .use(lambdaContext(logger))
  .use(logMetrics(metrics))
  .use(chimeAttemptMetrics(runtime.chimeAttempts, metrics))
  .use(releaseQuotaLeaseAtEnd(() => runtime.releaseQuotaLease()));
