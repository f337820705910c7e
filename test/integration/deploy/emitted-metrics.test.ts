import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../../shared/observability';
import { seedTenant } from '../../support/chime';
import {
  type OnboardingStack,
  putPolicy,
  runUntilIdle,
  send,
  startOnboardingStack,
} from '../onboarding/support';
import { type HandlerTrace, traceHandlers } from './code-trace';

/**
 * The other half of the package test's metric check: that test proves every alarm and dashboard metric is one
 * the code's traced `addMetric` calls name; this one runs the real onboard-users handler under Chime 429s and
 * reads the EMF it publishes, so the trace and what Lambda would log are shown to agree. ChimeThrottled of
 * onboard-users is the throttle alarm's onboarding leg, which once watched a metric nothing emitted.
 */

interface EmfBlob {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

const published: EmfBlob[] = [];
let stack: OnboardingStack;
let tenant: string;
let trace: HandlerTrace;

beforeAll(async () => {
  // What each flush would log, whether or not POWERTOOLS_METRICS_DISABLED keeps stdout quiet in tests.
  const publish = Metrics.prototype.publishStoredMetrics;
  vi.spyOn(Metrics.prototype, 'publishStoredMetrics').mockImplementation(function (this: Metrics) {
    if (this.hasStoredMetrics()) published.push(this.serializeMetrics() as unknown as EmfBlob);
    return publish.call(this);
  });
  stack = await startOnboardingStack({ maxReceiveCount: 10, retryBaseSeconds: 1, retryCapSeconds: 1 });
  tenant = seedTenant(stack.emulator, [], 'metrics');
  await putPolicy(stack.runtime, 'metrics', tenant);
  trace = traceHandlers(['functions/onboard-users/handler.ts']).get(
    'functions/onboard-users/handler.ts',
  ) as HandlerTrace;
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.close();
});

const sum = (value: unknown): number =>
  Array.isArray(value) ? value.reduce((total: number, item) => total + Number(item), 0) : Number(value ?? 0);

const REQUESTS = 30;

describe('metrics onboard-users really publishes', () => {
  it('publishes ChimeThrottled (every 429 it met), ChimeCalls and OnboardingLatency, as the alarm and dashboard read them', async () => {
    const throttledBefore = Object.values(stack.emulator.stats().throttled).reduce((a, b) => a + b, 0);
    stack.emulator.setFaults({ throttleRate: 0.4 });
    try {
      // 30 creates at a 40% fault rate: the chance that none meets a 429 is 0.6^30 (about 2e-7); with the 8
      // this used, 0.6^8 = 1.7% of runs failed the precondition below.
      await send(
        stack,
        Array.from({ length: REQUESTS }, (_, index) => ({
          tenantId: 'metrics',
          appInstanceUserId: `m-${index}`,
          name: `M ${index}`,
        })),
      );
      // One invocation at a time, as in a Lambda process: the handler's ChimeCalls/ChimeThrottled are the
      // process counter's delta over the invocation, which overlapping in-process invocations would share.
      await runUntilIdle(stack, { idleMs: 4_000, concurrency: 1 });
    } finally {
      stack.emulator.setFaults({});
    }
    const throttled =
      Object.values(stack.emulator.stats().throttled).reduce((a, b) => a + b, 0) - throttledBefore;
    expect(throttled).toBeGreaterThan(0);

    const totals: Record<string, number> = {};
    const latencies: number[] = [];
    for (const blob of published) {
      for (const directive of blob._aws.CloudWatchMetrics) {
        // Namespace and dimensions exactly as the alarm's and the dashboard's metric stats name them.
        expect(directive.Namespace).toBe(METRICS_NAMESPACE);
        expect(directive.Dimensions).toEqual([['service', 'function']]);
        expect([blob.service, blob.function]).toEqual([SERVICE_NAME, 'onboard-users']);
        for (const metric of directive.Metrics) {
          totals[metric.Name] = (totals[metric.Name] ?? 0) + sum(blob[metric.Name]);
          if (metric.Name === 'OnboardingLatency') {
            expect(metric.Unit).toBe('Milliseconds');
            latencies.push(...[blob[metric.Name]].flat().map(Number));
          }
        }
      }
    }
    expect(totals.Created).toBe(REQUESTS);
    // Every 429 the emulator answered reached the metric, and every attempt was counted.
    expect(totals.ChimeThrottled).toBe(throttled);
    expect(totals.ChimeCalls).toBeGreaterThanOrEqual(REQUESTS + throttled);
    expect(latencies).toHaveLength(REQUESTS);
    for (const latency of latencies) expect(latency).toBeGreaterThanOrEqual(0);

    // Whatever it published, the static trace (which the package test checks the template against) names.
    const traced = new Set(trace.metrics.flatMap((call) => call.names));
    expect(Object.keys(totals).filter((name) => !traced.has(name))).toEqual([]);
    expect(trace.metricsFunctions).toEqual(['onboard-users']);
  });
});
