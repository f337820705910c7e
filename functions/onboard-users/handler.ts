import type { Metrics } from '@aws-lambda-powertools/metrics';
import { sqsFunction } from '../../shared/composition/sqs-function';
import { Runtime } from '../../shared/composition-root';
import { chimeAttemptMetrics, createMetrics, MetricUnit } from '../../shared/observability';
import { onboardRequestSchema } from '../../shared/onboarding/message';
import { describeInvalidOnboarding, type MessageResult } from '../../shared/onboarding/process-message';

const NAME = 'onboard-users';
const metrics = createMetrics(NAME);
const runtime = new Runtime();
const onboarding = runtime.onboarding();

/** `Created`, `Converged` or `Duplicates`, and for a user made now the latency from the producer's send. */
function countOnboarded(metrics: Metrics, result: MessageResult, sentAt: number | undefined): void {
  const name = result.replayed ? 'Duplicates' : result.outcome.result === 'created' ? 'Created' : 'Converged';
  metrics.addMetric(name, MetricUnit.Count, 1);
  // From the producer's send to the user existing: the dashboard's onboarding latency.
  if (!result.replayed && sentAt !== undefined) {
    metrics.addMetric('OnboardingLatency', MetricUnit.Milliseconds, Math.max(0, Date.now() - sentAt));
  }
}

/**
 * Onboarding queue → each request onboarded exactly once. A request that can never succeed is
 * dead-lettered and announced (`Onboarding Request Rejected`); one still waiting for Chime's rate tokens at
 * the invocation's deadline is handed back to the queue.
 */
export const handler = sqsFunction(runtime, {
  name: NAME,
  metrics,
  queue: 'onboarding',
  schema: onboardRequestSchema,
  describeInvalid: describeInvalidOnboarding,
  onInvocation: (context) => onboarding.registerLambdaContext(context),
  handle: async (request, record) => {
    countOnboarded(record.metrics, await onboarding.onboard(request, record), record.sentAt);
    return undefined;
  },
  onDeadLettered: (report) => onboarding.rejected(report),
  // Requests beyond what their tenant's create quota serves before the deadline go back at once: the rest of
  // the batch proceeds, and one tenant's backlog does not hold the invocation (docs/onboarding.md, Fairness).
  beyondCapacity: (batch, horizonMs) =>
    onboarding.beyondCapacity(
      batch.map(({ messageId, message }) => ({ messageId, tenantId: message.tenantId })),
      horizonMs,
    ),
  middlewares: ({ metrics }) => [chimeAttemptMetrics(runtime.chimeAttempts, metrics)],
});
