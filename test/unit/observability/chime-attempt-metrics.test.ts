import type { Request } from '@middy/core';
import { describe, expect, it } from 'vitest';
import { chimeAttemptMetrics, createMetrics } from '../../../shared/observability';

/** A counter that the test advances as Chime attempts would. */
function counter() {
  const totals = { attempts: 0, throttled: 0 };
  return {
    totals,
    total: () => ({ ...totals }),
  };
}

function request(): Request {
  return {
    event: {},
    context: {},
    response: undefined,
    error: undefined,
    internal: {},
  } as unknown as Request;
}

/** The metric values of an EMF blob, by name. */
function values(metrics: ReturnType<typeof createMetrics>): Record<string, unknown> {
  const blob = metrics.serializeMetrics() as unknown as Record<string, unknown> & {
    _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
  };
  const names = blob._aws.CloudWatchMetrics.flatMap((directive) =>
    directive.Metrics.map((metric) => metric.Name),
  );
  return Object.fromEntries(names.map((name) => [name, blob[name]]));
}

describe('chimeAttemptMetrics (ChimeCalls and ChimeThrottled per invocation)', () => {
  it("emits the invocation's own attempts and 429s, not the process totals", async () => {
    const chime = counter();
    chime.totals.attempts = 40;
    chime.totals.throttled = 3;
    const metrics = createMetrics('onboard-users');
    const middleware = chimeAttemptMetrics(chime, metrics);
    const invocation = request();
    await middleware.before?.(invocation);
    chime.totals.attempts += 12;
    chime.totals.throttled += 2;
    await middleware.after?.(invocation);
    expect(values(metrics)).toEqual({ ChimeCalls: 12, ChimeThrottled: 2 });
  });

  it('emits on a failed invocation too, and keeps concurrent invocations apart', async () => {
    const chime = counter();
    const metrics = createMetrics('onboard-users');
    const middleware = chimeAttemptMetrics(chime, metrics);
    const first = request();
    const second = request();
    await middleware.before?.(first);
    chime.totals.attempts += 5;
    await middleware.before?.(second);
    chime.totals.attempts += 1;
    chime.totals.throttled += 1;
    await middleware.onError?.(first);
    expect(values(metrics)).toEqual({ ChimeCalls: 6, ChimeThrottled: 1 });
    metrics.clearMetrics();
    await middleware.after?.(second);
    expect(values(metrics)).toEqual({ ChimeCalls: 1, ChimeThrottled: 1 });
    // A second after for the same invocation emits nothing more.
    metrics.clearMetrics();
    await middleware.after?.(second);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });
});
