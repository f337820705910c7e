import { activityMessageSchema } from '../../shared/activity/message';
import { sqsFunction } from '../../shared/composition/sqs-function';
import { Runtime } from '../../shared/composition-root';
import { createMetrics, MetricUnit } from '../../shared/observability';

const NAME = 'record-activity';
const metrics = createMetrics(NAME);
const runtime = new Runtime();
const activity = runtime.activityRecorder();

/**
 * Activity queue → moves each user's `lastActiveAt` forward (renewal of active users). A batch
 * writes once per user (its latest event); an invalid event is dead-lettered with its reason.
 */
export const handler = sqsFunction(runtime, {
  name: NAME,
  metrics,
  queue: 'activity',
  schema: activityMessageSchema,
  handle: async (event, record) => {
    const outcome = await activity.record(event, record);
    const name = outcome === 'advanced' ? 'Advanced' : outcome === 'stale' ? 'Stale' : 'Coalesced';
    record.metrics.addMetric(name, MetricUnit.Count, 1);
    return undefined;
  },
});
