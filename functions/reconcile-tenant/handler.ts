import { releaseQuotaLeaseAtEnd } from '../../shared/chime/lease-middleware';
import { type FunctionRecord, sqsFunction } from '../../shared/composition/sqs-function';
import { Runtime } from '../../shared/composition-root';
import { type ReconcileMessage, reconcileMessageSchema } from '../../shared/contracts/reconcile-messages';
import { chimeAttemptMetrics, countFinishedRun, createMetrics } from '../../shared/observability';
import { reconcileStep, retriesExhausted } from '../../shared/sync/reconcile-step';

const NAME = 'reconcile-tenant';
const metrics = createMetrics(NAME);
const runtime = new Runtime();

/** The sync's dependencies for one record: continuations go to this queue, the clock is the invocation's. */
const depsOf = (record: FunctionRecord<ReconcileMessage>) =>
  runtime.reconcileDeps({ queue: record, log: record.log, remainingTimeMs: record.remainingTimeMs });

/** Reconcile queue → one step of a tenant's run (batch size 1). */
export const handler = sqsFunction(runtime, {
  name: NAME,
  metrics,
  queue: 'reconcile',
  schema: reconcileMessageSchema,
  handle: async (message, record) => {
    const result = await reconcileStep(message, depsOf(record));
    if (result.kind === 'retryAfter') return { retry: result.error };
    if (result.run && result.run.state !== 'running') countFinishedRun(record.metrics, result.run);
    return undefined;
  },
  onRetriesExhausted: async (message, error, record) => {
    const run = await retriesExhausted(message, error, depsOf(record));
    if (run) countFinishedRun(record.metrics, run);
  },
  middlewares: ({ metrics }) => [
    chimeAttemptMetrics(runtime.chimeAttempts, metrics),
    releaseQuotaLeaseAtEnd(() => runtime.releaseQuotaLease()),
  ],
});
