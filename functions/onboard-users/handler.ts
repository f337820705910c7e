import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Runtime } from '../../shared/composition-root';
import {
  asLog,
  chimeAttemptMetrics,
  createLogger,
  createMetrics,
  lambdaContext,
  MetricUnit,
} from '../../shared/observability';

const logger = createLogger('onboard-users');
const metrics = createMetrics('onboard-users');
const runtime = new Runtime();
const onboarding = runtime.onboardingDriver({
  log: asLog(logger),
  observe: (result, delivery) => {
    const name =
      'rejected' in result
        ? 'Rejected'
        : result.replayed
          ? 'Duplicates'
          : result.outcome.result === 'created'
            ? 'Created'
            : 'Converged';
    metrics.addMetric(name, MetricUnit.Count, 1);
    // From the producer's send to the user existing: the dashboard's onboarding latency.
    if ((name === 'Created' || name === 'Converged') && delivery?.sentAt !== undefined) {
      metrics.addMetric(
        'OnboardingLatency',
        MetricUnit.Milliseconds,
        Math.max(0, Date.now() - delivery.sentAt),
      );
    }
  },
});

/**
 * SQS → onboard each record through the queue driver: a record that should be retried is a batch item
 * failure (ReportBatchItemFailures), one that can never succeed is dead-lettered and counts as processed.
 */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  onboarding.registerLambdaContext(context);
  return onboarding.driver.run(event, context);
})
  .use(lambdaContext(logger))
  .use(logMetrics(metrics))
  .use(chimeAttemptMetrics(runtime.chimeAttempts, metrics));
