import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { environmentFor } from '../../../local/environment';
import { type EventSource, type SqsEventHandler, startEventSource } from '../../../local/event-source-runner';
import { type EnsuredQueue, ensureQueues } from '../../../local/queue-provisioning';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { ActivityStore } from '../../../shared/aws/activity';
import type { Runtime } from '../../../shared/composition-root';
import { parsePolicy } from '../../../shared/policy';
import { appInstanceArn, policyDocument } from '../../fixtures/policies';
import { testRuntime } from '../../support/stack';
import { queueDepth, waitFor } from './helpers';

/**
 * The activity queue as record-activity consumes it (the real handler behind the local SQS event source,
 * fauxqs, DynamoDB Local): one write per user per batch, forward only, invalid events dead-lettered, and only
 * what the clock, the stored policy and the tenant's ledger allow recorded.
 */
describe('activity queue → record-activity', () => {
  let server: SqsServer;
  let runtime: Runtime;
  let queue: EnsuredQueue;
  let source: EventSource | undefined;
  let handler: SqsEventHandler;
  const outcomes: string[] = [];

  beforeAll(async () => {
    server = await startSqsServer({ port: 0 });
    runtime = await testRuntime({ runtime: { endpoints: { sqs: server.url } } });
    queue = (await ensureQueues(runtime.sqs, runtime.config)).activity;
    // The handler's Runtime reads the environment when its module loads (Vitest gives each file a worker).
    const endpoints = { dynamodb: runtime.endpoints.dynamodb as string, sqs: server.url };
    for (const [name, value] of Object.entries(
      environmentFor(runtime.config, {
        ...endpoints,
        chime: 'http://127.0.0.1:9',
        eventbridge: 'http://127.0.0.1:9',
      }),
    )) {
      vi.stubEnv(name, value);
    }
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'ERROR');
    // What each conditional update of the store answered: the handler's writes, one per user per batch.
    const record = ActivityStore.prototype.record;
    vi.spyOn(ActivityStore.prototype, 'record').mockImplementation(async function (
      this: ActivityStore,
      event,
    ) {
      const outcome = await record.call(this, event);
      outcomes.push(outcome);
      return outcome;
    });
    handler = (await import('../../../functions/record-activity/handler')).handler as SqsEventHandler;
  });

  afterAll(async () => {
    await source?.stop();
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    runtime?.destroy();
    await server?.close();
  });

  /** Tenant `t` renews by activity and its ledger knows a, b and late; tenant `fixed` has no inactiveDays. */
  async function seedTenants(now: number): Promise<void> {
    for (const [tenantId, overrides] of [
      ['t', { default: { expiration: { inactiveDays: 30 } } }],
      ['fixed', {}],
    ] as const) {
      const document = policyDocument(tenantId, appInstanceArn(tenantId), overrides);
      const parsed = parsePolicy(document);
      if (!parsed.ok) throw new Error('fixture policy invalid');
      await runtime.policyStore.put(parsed.policy, document, null);
    }
    await runtime.ledger.putMany(
      't',
      ['a', 'b', 'late'].map((id) => ledgerEntry(id, now)),
    );
  }

  it('coalesces a batch per user, moves lastActiveAt forward only, and dead-letters what it may not record, with the reason', async () => {
    const now = Date.now();
    const at = now - 3_600_000;
    await seedTenants(now);
    await runtime.activity.record({ tenantId: 't', appInstanceUserId: 'late', at: at + 60_000 });
    const bodies = [
      { tenantId: 't', appInstanceUserId: 'a', at: new Date(at).toISOString() },
      { tenantId: 't', appInstanceUserId: 'a', at: at + 2_000 },
      { tenantId: 't', appInstanceUserId: 'a', at: at + 1_000 },
      { tenantId: 't', appInstanceUserId: 'b', at },
      { tenantId: 't', appInstanceUserId: 'late', at },
      // From the future: would make `b` immortal, and must not settle b's valid event above either.
      { tenantId: 't', appInstanceUserId: 'b', at: '2100-01-01T00:00:00Z' },
      { tenantId: 'nobody', appInstanceUserId: 'a', at },
      { tenantId: 'fixed', appInstanceUserId: 'a', at },
      // A user id of another AppInstance: not in t's ledger, on its first delivery nor its later ones.
      { tenantId: 't', appInstanceUserId: 'other-tenants-user', at },
      // Onboarded a moment after its first activity arrived: recorded on a later delivery.
      { tenantId: 't', appInstanceUserId: 'new-1', at },
    ].map((body) => JSON.stringify(body));
    const all = [...bodies, '{"tenantId": "t", "appInstanceUserId": "a"}'];
    // SendMessageBatch takes at most 10 entries.
    for (const [offset, chunk] of [all.slice(0, 6), all.slice(6)].entries()) {
      await runtime.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: chunk.map((body, index) => ({ Id: String(offset * 6 + index), MessageBody: body })),
        }),
      );
    }
    outcomes.length = 0;
    source = await startEventSource({
      sqs: runtime.sqs,
      queueUrl: queue.url,
      queueArn: queue.arn,
      handler,
      batchSize: 20,
      maximumBatchingWindowSeconds: 1,
      waitTimeSeconds: 1,
      functionName: 'record-activity',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (outcomes.length >= 3 ? true : undefined), { what: 'the first batch' });
    await runtime.ledger.putMany('t', [ledgerEntry('new-1', now)]);
    await waitFor(
      async () => {
        const depth = await queueDepth(runtime.sqs, queue.url);
        return depth.visible === 0 && depth.inFlight === 0 && outcomes.length >= 4 ? true : undefined;
      },
      { what: 'the activity queue to drain', timeoutMs: 60_000 },
    );
    const last = await runtime.activity.lastActiveMany('t', [
      'a',
      'b',
      'late',
      'new-1',
      'other-tenants-user',
    ]);
    expect(Object.fromEntries(last)).toEqual({ a: at + 2_000, b: at, late: at + 60_000, 'new-1': at });
    expect((await runtime.activity.lastActiveMany('nobody', ['a'])).size).toBe(0);
    expect((await runtime.activity.lastActiveMany('fixed', ['a'])).size).toBe(0);
    // a's older two events are settled by its latest without a write, the late user's older event is refused
    // by the condition, and new-1 is written on a later delivery.
    expect(outcomes.sort()).toEqual(['advanced', 'advanced', 'advanced', 'stale']);
    const dead = await runtime.deadLetters.peek(queue.deadLetterUrl, 10);
    expect(dead.map((letter) => letter.reason).sort()).toEqual([
      'activity-in-future',
      'invalid-message',
      'tenant-not-found',
      'tenant-without-renewal',
      'user-not-in-tenant',
    ]);
    const future = dead.find((letter) => letter.reason === 'activity-in-future');
    expect(future?.detail).toMatch(/^at 2100-01-01T00:00:00.000Z is \d+ days ahead of the clock/);
    expect(dead.find((letter) => letter.reason === 'user-not-in-tenant')?.detail).toContain(
      'is not a user of tenant t as far as its ledger knows',
    );
  });
});

function ledgerEntry(appInstanceUserId: string, now: number) {
  return { appInstanceUserId, createdAt: now - 10 * 86_400_000, expirationDays: 30, verifiedAt: now };
}
