import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { Runtime } from '../../shared/composition-root';
import { asLog, createLogger, createMetrics, MetricUnit } from '../../shared/observability';
import { RetryLaterError } from '../../shared/onboarding/process-message';

const logger = createLogger('onboard-users');
const metrics = createMetrics('onboard-users');
const runtime = new Runtime();
const onboarding = runtime.onboarding({ log: asLog(logger) });

async function onboardRecord(record: SQSRecord): Promise<void> {
  try {
    const result = await onboarding.processRecord(record);
    if (result.status === 'rejected') {
      metrics.addMetric('Rejected', MetricUnit.Count, 1);
    } else if (result.replayed) {
      metrics.addMetric('Duplicates', MetricUnit.Count, 1);
    } else {
      metrics.addMetric(result.outcome.result === 'created' ? 'Created' : 'Converged', MetricUnit.Count, 1);
    }
  } catch (error) {
    if (error instanceof RetryLaterError) metrics.addMetric('Retried', MetricUnit.Count, 1);
    throw error;
  }
}

/**
 * SQS → onboard each record; a record that should be retried is a batch item failure (ReportBatchItemFailures),
 * a record that can never succeed was dead-lettered and counts as processed.
 */
export const handler = middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  onboarding.registerLambdaContext(context);
  // One processor per invocation: it keeps the batch's state, and the local worker may run several
  // invocations of this module at once (Lambda never does).
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(event, onboardRecord, processor, {
    context,
    // A batch that failed entirely is still a well-formed partial response: every record is retried on its
    // own backoff, and the invocation does not count as a function error.
    throwOnFullBatchFailure: false,
  });
})
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
