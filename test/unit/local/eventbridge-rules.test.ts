import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type DeliveryFailure,
  type DeliveryFailureReport,
  describeDeliveryFailure,
  type EventEnvelope,
  RuleRouter,
} from '../../../local/eventbridge-rules';
import { startLocalEventBridge } from '../../../local/eventbridge-server';

/** Fast retries: 5 ms doubling to 20 ms, so a test of ten retries takes well under a second. */
const FAST = { base: 5, cap: 20, jitter: 'equal' as const };
const pattern = { source: ['aws.chime'] };

function event(id: string) {
  return {
    id,
    time: '2026-01-01T00:00:00Z',
    eventBusName: 'default',
    source: 'aws.chime',
    detailType: 'AWS API Call via CloudTrail',
    detail: { eventName: 'DeleteAppInstanceUser' },
  };
}

/** A target that fails its first `failures` calls for each event, then succeeds. */
function flaky(failures: number) {
  const calls = new Map<string, number>();
  const target = async (envelope: EventEnvelope) => {
    const n = (calls.get(envelope.id) ?? 0) + 1;
    calls.set(envelope.id, n);
    if (n <= failures) throw new Error(`attempt ${n} failed`);
  };
  return { target, calls };
}

function router() {
  const reports: DeliveryFailureReport[] = [];
  const rules = new RuleRouter({
    region: 'us-east-1',
    account: '000000000000',
    retryBackoff: FAST,
    onDeliveryFailed: (report) => reports.push(report),
  });
  return { rules, reports };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('local EventBridge rules: bounded retries, then the dead-letter queue, never silence', () => {
  it.each([0, 1, 3, 10])('a target failing %i time(s) and then succeeding gets the event once', async (n) => {
    const { rules, reports } = router();
    const { target, calls } = flaky(n);
    const deadLetters: DeliveryFailure[] = [];
    rules.add({
      name: 'r',
      pattern,
      target,
      retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeSeconds: 3_600 },
      deadLetter: async (failure) => void deadLetters.push(failure),
    });
    rules.route(event('e-1'));
    await rules.idle();
    expect(calls.get('e-1')).toBe(n + 1);
    expect(rules.counts.r).toEqual({ delivered: 1, retried: n, failed: 0, deadLettered: 0 });
    expect(deadLetters).toEqual([]);
    expect(reports).toEqual([]);
  });

  it('a target that always fails: retried as the policy allows, then dead-lettered and reported with the rule and event id', async () => {
    const { rules, reports } = router();
    const { target, calls } = flaky(Number.POSITIVE_INFINITY);
    const deadLetters: DeliveryFailure[] = [];
    rules.add({
      name: 'user-removed-rule',
      pattern,
      target,
      retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 3_600 },
      deadLetter: async (failure) => void deadLetters.push(failure),
    });
    rules.route(event('e-9'));
    await rules.idle();
    expect(calls.get('e-9')).toBe(4);
    expect(rules.counts['user-removed-rule']).toEqual({
      delivered: 0,
      retried: 3,
      failed: 1,
      deadLettered: 1,
    });
    expect(deadLetters.map((failure) => [failure.event.id, failure.attempts, failure.condition])).toEqual([
      ['e-9', 4, 'MaximumRetryAttemptsExhausted'],
    ]);
    expect(reports).toHaveLength(1);
    const line = describeDeliveryFailure(reports[0] as DeliveryFailureReport);
    expect(line).toBe(
      'rule user-removed-rule gave up on event e-9 after 4 attempt(s) (MaximumRetryAttemptsExhausted: attempt 4 failed); sent to its dead-letter queue',
    );
  });

  it('stops retrying once the event is older than the maximum event age', async () => {
    const { rules, reports } = router();
    const { target, calls } = flaky(Number.POSITIVE_INFINITY);
    rules.add({
      name: 'r',
      pattern,
      target,
      // 30 ms: a few retries of 5..20 ms fit, not 185.
      retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeSeconds: 0.03 },
    });
    rules.route(event('e-2'));
    await rules.idle();
    expect(calls.get('e-2')).toBeGreaterThan(1);
    expect(calls.get('e-2')).toBeLessThan(10);
    expect(reports.map((report) => report.condition)).toEqual(['MaximumEventAgeExceeded']);
  });

  it('says the event is lost, loudly, when the rule has no dead-letter queue or the queue fails', async () => {
    const { rules, reports } = router();
    rules.add({
      name: 'no-dlq',
      pattern,
      target: flaky(Number.POSITIVE_INFINITY).target,
      retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
    });
    rules.add({
      name: 'broken-dlq',
      pattern,
      target: flaky(Number.POSITIVE_INFINITY).target,
      retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeSeconds: 60 },
      deadLetter: async () => {
        throw new Error('SQS down');
      },
    });
    rules.route(event('e-3'));
    await rules.idle();
    expect(reports.map(describeDeliveryFailure).sort()).toEqual([
      'rule broken-dlq gave up on event e-3 after 1 attempt(s) (MaximumRetryAttemptsExhausted: attempt 1 failed); its dead-letter queue failed too (SQS down): the event is lost',
      'rule no-dlq gave up on event e-3 after 1 attempt(s) (MaximumRetryAttemptsExhausted: attempt 1 failed); the rule has no dead-letter queue: the event is lost',
    ]);
  });

  it('without a listener, the give-up goes to stderr', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const rules = new RuleRouter({ region: 'us-east-1', account: '000000000000', retryBackoff: FAST });
    rules.add({
      name: 'quiet',
      pattern,
      target: flaky(Number.POSITIVE_INFINITY).target,
      retryPolicy: { maximumRetryAttempts: 1, maximumEventAgeSeconds: 60 },
    });
    rules.route(event('e-4'));
    await rules.idle();
    expect(errors.mock.calls.map((call) => String(call[0]))).toEqual([
      expect.stringMatching(/^local EventBridge: rule quiet gave up on event e-4 after 2 attempt\(s\)/),
    ]);
  });

  it('stopping gives up on the retries still waiting, dead-letters and reports each', async () => {
    const rules = new RuleRouter({
      region: 'us-east-1',
      account: '000000000000',
      // A retry an hour away: only stopping ends it.
      retryBackoff: { base: 3_600_000, cap: 3_600_000, jitter: 'equal' },
      onDeliveryFailed: (report) => reports.push(report),
    });
    const reports: DeliveryFailureReport[] = [];
    const deadLetters: string[] = [];
    rules.add({
      name: 'r',
      pattern,
      target: flaky(Number.POSITIVE_INFINITY).target,
      retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeSeconds: 86_400 },
      deadLetter: async (failure) => void deadLetters.push(failure.event.id),
    });
    rules.route(event('e-5'));
    rules.route(event('e-6'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await rules.stop();
    expect(deadLetters.sort()).toEqual(['e-5', 'e-6']);
    expect(reports.map((report) => report.condition)).toEqual(['Stopped', 'Stopped']);
  });
});

describe('the local EventBridge server', () => {
  it('delivers each of 1,000 put events exactly once although 2% of first deliveries fail', async () => {
    const reports: DeliveryFailureReport[] = [];
    const bus = await startLocalEventBridge({ retryBackoff: FAST, onDeliveryFailed: (r) => reports.push(r) });
    const client = new EventBridgeClient({
      region: 'us-east-1',
      endpoint: bus.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const attempts = new Map<string, number>();
      const delivered: string[] = [];
      let seed = 7;
      bus.addRule({
        name: 'user-removed-rule',
        pattern,
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeSeconds: 3_600 },
        target: async (envelope) => {
          const n = (attempts.get(envelope.id) ?? 0) + 1;
          attempts.set(envelope.id, n);
          seed = (seed * 48_271) % 2_147_483_647;
          if (n === 1 && seed / 2_147_483_647 < 0.02) throw new Error('Chime unavailable');
          delivered.push(envelope.id);
        },
      });
      for (let batch = 0; batch < 100; batch++) {
        const { FailedEntryCount } = await client.send(
          new PutEventsCommand({
            Entries: Array.from({ length: 10 }, () => ({
              Source: 'aws.chime',
              DetailType: 'AWS API Call via CloudTrail',
              Detail: '{"eventName":"DeleteAppInstanceUser"}',
            })),
          }),
        );
        expect(FailedEntryCount).toBe(0);
      }
      await bus.idle();
      const counts = bus.deliveries()['user-removed-rule'];
      expect(counts?.retried).toBeGreaterThan(0);
      expect(counts).toMatchObject({ delivered: 1_000, failed: 0 });
      expect(new Set(delivered).size).toBe(1_000);
      expect(delivered).toHaveLength(1_000);
      expect(reports).toEqual([]);
    } finally {
      client.destroy();
      await bus.close();
    }
  });
});
