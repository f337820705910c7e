import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import type { Log } from './contracts/log';
import type { RunRecord } from './contracts/run';

export const SERVICE_NAME = 'chime-lifecycle';
export const METRICS_NAMESPACE = 'ChimeLifecycle';

/** One structured JSON logger per function; POWERTOOLS_LOG_LEVEL and friends configure it. */
export function createLogger(functionName: string): Logger {
  return new Logger({ serviceName: SERVICE_NAME, persistentKeys: { function: functionName } });
}

/** EMF metrics; outside Lambda (CLI, tests) POWERTOOLS_METRICS_DISABLED=true keeps stdout clean. */
export function createMetrics(functionName: string): Metrics {
  return new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: SERVICE_NAME,
    defaultDimensions: { function: functionName },
  });
}

export { MetricUnit };

/** What chimeAttemptMetrics reads: the process's Chime attempt counter (shared/chime/client.ts). */
export interface ChimeAttemptTotals {
  total(): { readonly attempts: number; readonly throttled: number };
}

/**
 * Middy middleware: the invocation's Chime attempts and 429s as `ChimeCalls` and `ChimeThrottled` (the
 * throttle alarm and the dashboard watch them). Per invocation, since a batch's records run concurrently on
 * one client. Register it after `logMetrics`, so that its `after` runs first and the metrics are flushed.
 */
export function chimeAttemptMetrics(counter: ChimeAttemptTotals, metrics: Metrics): MiddlewareObj {
  // Keyed by request: the local worker may run several invocations of one module at once.
  const started = new WeakMap<object, { attempts: number; throttled: number }>();
  const emit = (request: object) => {
    const before = started.get(request);
    if (!before) return;
    started.delete(request);
    const after = counter.total();
    metrics.addMetric('ChimeCalls', MetricUnit.Count, after.attempts - before.attempts);
    metrics.addMetric('ChimeThrottled', MetricUnit.Count, after.throttled - before.throttled);
  };
  return {
    before: (request) => {
      started.set(request, { ...counter.total() });
    },
    after: (request) => emit(request),
    onError: (request) => emit(request),
  };
}

/** Adapts a Powertools logger to the use cases' small logging port. */
export function asLog(logger: Logger): Log {
  return {
    info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
    warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
    error: (message, extra) => (extra ? logger.error(message, extra) : logger.error(message)),
  };
}

/**
 * The logger middleware of every handler. Event logging is off whatever POWERTOOLS_LOGGER_LOG_EVENT says:
 * an SQS event carries onboarding bodies, whose names and metadata are personal data (the explicit option
 * takes precedence over the variable).
 */
export function lambdaContext(logger: Logger) {
  return injectLambdaContext(logger, { logEvent: false, resetKeys: true });
}

/** The metrics of a finished run (reconcile-tenant). */
export function countFinishedRun(metrics: Metrics, run: RunRecord): void {
  const { counters, state } = run;
  metrics.addMetric('UsersScanned', MetricUnit.Count, counters.scanned);
  metrics.addMetric('UsersChanged', MetricUnit.Count, counters.set + counters.removed);
  metrics.addMetric('UsersHeld', MetricUnit.Count, counters.held);
  metrics.addMetric('UsersRescued', MetricUnit.Count, counters.rescued);
  const name = state === 'completed' ? 'RunsCompleted' : state === 'held' ? 'RunsHeld' : 'RunsFailed';
  metrics.addMetric(name, MetricUnit.Count, 1);
}
