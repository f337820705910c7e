import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../../functions/index';
import { effectiveEventSources, stackWiring } from '../../../local/stack';

describe('effectiveEventSources (what the local stack polls with)', () => {
  it('takes batch size, window, concurrency and timeout from the declarations, for the local stage', () => {
    expect(effectiveEventSources()).toEqual({
      'reconcile-tenant': {
        batchSize: 1,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 5,
        concurrency: 5,
        concurrencyFrom: 'declaration',
        timeoutSeconds: 900,
      },
      'onboard-users': {
        batchSize: 10,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 2,
        concurrency: 2,
        concurrencyFrom: 'declaration',
        timeoutSeconds: 120,
      },
      'record-activity': {
        batchSize: 100,
        maximumBatchingWindowSeconds: 5,
        maximumConcurrency: 2,
        concurrency: 2,
        concurrencyFrom: 'declaration',
        timeoutSeconds: 30,
      },
    });
  });

  it('lets options.concurrency override a queue and leaves the others as deployed', () => {
    const sources = effectiveEventSources({ concurrency: { onboarding: 1 } });
    expect(sources['onboard-users']).toMatchObject({
      batchSize: 10,
      maximumConcurrency: 2,
      concurrency: 1,
      concurrencyFrom: 'options',
    });
    expect(sources['reconcile-tenant']).toMatchObject({ concurrency: 5, concurrencyFrom: 'declaration' });
  });

  it("follows the stack's quota scale for onboard-users' batch: one second of an AppInstance's create quota", () => {
    const batchAt = (quotaScale: number) => effectiveEventSources({ quotaScale })['onboard-users'].batchSize;
    expect([batchAt(0.1), batchAt(1), batchAt(5), batchAt(20), batchAt(2_000)]).toEqual([
      10, 10, 50, 200, 10_000,
    ]);
    // The other queues do not depend on the create quota.
    expect(effectiveEventSources({ quotaScale: 20 })['record-activity'].batchSize).toBe(100);
  });
});

describe('stackWiring (what the local stack wires for each function)', () => {
  it('wires every declared function, each by its trigger', () => {
    const wiring = stackWiring();
    expect(wiring.map((fn) => fn.name)).toEqual(FUNCTIONS.map((fn) => fn.name));
    expect(Object.fromEntries(wiring.map((fn) => [fn.name, fn.trigger.kind]))).toEqual({
      'schedule-sync': 'schedule',
      'reconcile-tenant': 'sqs',
      'onboard-users': 'sqs',
      'policy-changed': 'stream',
      'record-activity': 'sqs',
      'user-removed': 'rule',
    });
  });

  it('runs the schedule every scheduleMinutes (5 by default, 0 off); the stream and the rule keep their failure settings', () => {
    const schedule = (minutes?: number) =>
      stackWiring(minutes === undefined ? {} : { scheduleMinutes: minutes }).find(
        (fn) => fn.name === 'schedule-sync',
      );
    expect(schedule()?.trigger).toEqual({ kind: 'schedule', rate: 'rate(1 hour)', everyMinutes: 5 });
    expect(schedule(0)?.trigger).toMatchObject({ everyMinutes: 0 });
    const stream = stackWiring().find((fn) => fn.name === 'policy-changed');
    // The local stream runner applies the declared retries, bisection, age and on-failure queue itself.
    expect(stream?.trigger).toEqual({
      kind: 'stream',
      table: 'PolicyTable',
      batchSize: 100,
      startingPosition: 'LATEST',
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 5,
      maximumRecordAgeSeconds: 3600,
      onFailureQueue: 'PolicyStreamFailureQueue',
    });
    expect(stream?.awsOnly.join('\n')).not.toMatch(/onFailure|maximumRetryAttempts/);
    const rule = stackWiring().find((fn) => fn.name === 'user-removed');
    expect(rule?.trigger).toMatchObject({
      kind: 'rule',
      retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeSeconds: 3600 },
      deadLetterQueue: 'UserRemovedDeadLetterQueue',
    });
    expect(rule?.awsOnly.join('\n')).toMatch(/^functionErrorRetries 2 within 3600 s/);
  });
});
