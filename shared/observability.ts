import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Log, RunRecord } from './sync/ports';

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
