import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBStreamEvent, ScheduledEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext, type EventSource, startEventSource } from '../../../local/event-source-runner';
import { type LocalEventBridge, startLocalEventBridge } from '../../../local/eventbridge-server';
import { ensureQueues } from '../../../local/queue-provisioning';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { type StreamSource, startStreamSource } from '../../../local/stream-runner';
import { storePolicyDocument } from '../../../shared/aws/policy-store';
import { QuotaLeases } from '../../../shared/aws/quota-leases';
import { ensureTables } from '../../../shared/aws/tables';
import { Runtime } from '../../../shared/composition-root';
import type { Config } from '../../../shared/config';
import type { RunRecord } from '../../../shared/contracts/run';
import type { Policy } from '../../../shared/policy';
import { policyDocument } from '../../fixtures/policies';
import { type ChimeEmulator, days, type SeedUser, seedTenant, startTestEmulator } from '../../support/chime';
import { dynamoDbUrl } from '../../support/context';
import { exportEnvironment, uniqueConfig } from '../../support/stack';

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;
type ScheduleHandler = (event: ScheduledEvent, context: Context) => Promise<{ queued: readonly string[] }>;

const QUOTA_SCALE = 50;
const generousSafety = { minRemainingDays: 1, maxShorteningChanges: 10_000, maxShorteningPercent: 100 };

/**
 * The deployed shape, offline: the real Lambda handlers driven by the policy table's DynamoDB stream and by
 * the reconcile SQS queue (local event-source runner), continuation messages going through the real queue.
 */
describe('sync in Lambda mode: stream → policy-changed → reconcile queue → reconcile-tenant', () => {
  let emulator: ChimeEmulator;
  let eventBridge: LocalEventBridge;
  let sqsServer: SqsServer;
  let runtime: Runtime;
  let config: Config;
  let reconcileSource: EventSource;
  let streamSource: StreamSource;
  let scheduleHandler: ScheduleHandler;
  const policies = new Map<string, Policy>();
  const context = () =>
    createContext({
      functionName: 'schedule-sync',
      region: 'us-east-1',
      accountId: '000000000000',
      timeoutMs: 60_000,
    });

  async function putPolicy(
    tenantId: string,
    arn: string,
    overrides: Record<string, unknown> = {},
  ): Promise<number> {
    const document = policyDocument(tenantId, arn, { safety: generousSafety, ...overrides });
    const stored = await storePolicyDocument(runtime.policyStore, document);
    policies.set(tenantId, stored.policy);
    return stored.version;
  }

  async function waitForRun(
    tenantId: string,
    accept: (run: RunRecord) => boolean,
    timeoutMs = 45_000,
  ): Promise<RunRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [latest] = await runtime.runs.recent(tenantId, 1);
      if (latest && latest.state !== 'running' && accept(latest)) return latest;
      if (Date.now() > deadline)
        throw new Error(`no matching finished run for ${tenantId}; latest: ${JSON.stringify(latest)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Users whose ExpirationDays differ from the days worked out by hand (never the engine's own answer). */
  async function nonCompliant(
    tenantId: string,
    expected: (appInstanceUserId: string) => number | undefined,
  ): Promise<string[]> {
    const policy = policies.get(tenantId) as Policy;
    const wrong: string[] = [];
    for await (const page of runtime.chimeUsers.listPages(policy.appInstanceArn, {})) {
      for (const user of page.users) {
        const current = await runtime.chimeUsers.describe(user.arn);
        if (current && current.expirationDays !== expected(user.appInstanceUserId)) {
          wrong.push(user.appInstanceUserId);
        }
      }
    }
    return wrong;
  }

  beforeAll(async () => {
    emulator = await startTestEmulator(QUOTA_SCALE);
    eventBridge = await startLocalEventBridge();
    sqsServer = await startSqsServer({ port: 0 });
    config = uniqueConfig({
      quotaScale: QUOTA_SCALE,
      eventBus: 'default',
      syncMaxPagesPerInvocation: 1,
      syncSafetyMarginSeconds: 2,
      syncRetryBaseSeconds: 1,
      syncRetryCapSeconds: 2,
    });
    const endpoints = {
      dynamodb: dynamoDbUrl(),
      chime: emulator.url,
      sqs: sqsServer.url,
      eventbridge: eventBridge.url,
    };
    exportEnvironment(config, endpoints);
    runtime = new Runtime(config, { endpoints });
    await ensureTables(runtime.dynamo, config);
    const queues = await ensureQueues(runtime.sqs, config, {
      reconcile: { visibilityTimeoutSeconds: 30, maxReceiveCount: 3 },
    });

    const reconcile = (await import('../../../functions/reconcile-tenant/handler'))
      .handler as unknown as SqsHandler;
    const policyChanged = (await import('../../../functions/policy-changed/handler'))
      .handler as unknown as StreamHandler;
    scheduleHandler = (await import('../../../functions/schedule-sync/handler'))
      .handler as unknown as ScheduleHandler;

    reconcileSource = await startEventSource({
      sqs: runtime.sqs,
      queueUrl: queues.reconcile.url,
      queueArn: queues.reconcile.arn,
      handler: reconcile,
      batchSize: 1,
      waitTimeSeconds: 1,
      concurrency: 2,
      functionName: 'reconcile-tenant',
      timeoutMs: 30_000,
    });
    streamSource = await startStreamSource({
      dynamo: runtime.dynamo,
      streams: new DynamoDBStreamsClient({ region: 'us-east-1', endpoint: dynamoDbUrl() }),
      tableName: config.policyTable,
      handler: (event) => policyChanged(event, context()),
      startingPosition: 'LATEST',
      pollMs: 100,
      onError: (error) => console.error('policy stream:', error),
    });
  });

  afterAll(async () => {
    await reconcileSource?.stop();
    await streamSource?.stop();
    runtime?.destroy();
    await sqsServer?.close();
    await eventBridge?.close();
    await emulator?.close();
  });

  it('a policy put reconciles the tenant at once, across continuation messages, until every user complies', async () => {
    const users: SeedUser[] = Array.from({ length: 120 }, (_, index) => ({
      appInstanceUserId: index % 4 === 0 ? `emp-${index}` : `guest-${index}`,
      ageMs: days(2),
      ...(index % 3 === 0 ? { expirationDays: 90 } : {}),
    }));
    const arn = seedTenant(emulator, users, 'north');
    await putPolicy('north', arn);
    const run = await waitForRun('north', (record) => record.counters.scanned === 120);
    expect(run.state).toBe('completed');
    expect(run.trigger).toBe('policy-changed');
    // one page per invocation (CHIME_LIFECYCLE_SYNC_MAX_PAGES_PER_INVOCATION=1): three invocations at least
    expect(run.step).toBeGreaterThanOrEqual(3);
    // Staff never expire; guests get 7 days.
    expect(await nonCompliant('north', (id) => (id.startsWith('emp-') ? undefined : 7))).toEqual([]);
  });

  it('a later policy put triggers a resync with the new rules', async () => {
    const arn = seedTenant(
      emulator,
      [
        { appInstanceUserId: 'guest-a', ageMs: days(1) },
        { appInstanceUserId: 'guest-b', ageMs: days(1), expirationDays: 3 },
      ],
      'south',
    );
    await putPolicy('south', arn);
    await waitForRun('south', (record) => record.policyVersion === 1);
    const rules = (policyDocument('south', arn).rules as Record<string, unknown>[]).map((rule) =>
      rule.id === 'guests' ? { ...rule, expiration: { days: 14 } } : rule,
    );
    const version = await putPolicy('south', arn, { rules });
    expect(version).toBe(2);
    const run = await waitForRun('south', (record) => record.policyVersion === 2);
    expect(run.state).toBe('completed');
    const guest = await runtime.chimeUsers.describe(runtime.chimeUsers.userArn(arn, 'guest-b'));
    expect(guest?.expirationDays).toBe(14);
    expect(await nonCompliant('south', () => 14)).toEqual([]);
  });

  it('the scheduled sync queues every enabled tenant and a steady-state run writes nothing', async () => {
    const putsBefore = emulator.stats().calls.PutAppInstanceUserExpirationSettings ?? 0;
    const [before] = await runtime.runs.recent('north', 1);
    const result = await scheduleHandler(
      {
        version: '0',
        id: 'test',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [],
        detail: {},
      },
      context(),
    );
    expect([...result.queued].sort()).toEqual(['north', 'south']);
    const run = await waitForRun(
      'north',
      (record) => record.runId !== before?.runId && record.trigger === 'schedule',
    );
    await waitForRun('south', (record) => record.trigger === 'schedule');
    expect(run.counters).toMatchObject({ scanned: 120, set: 0, removed: 0, described: 0 });
    expect(emulator.stats().calls.PutAppInstanceUserExpirationSettings ?? 0).toBe(putsBefore);
    expect(
      eventBridge.events.filter((event) => event.detailType === 'Tenant Run Completed').length,
    ).toBeGreaterThanOrEqual(4);
  });

  it('a message that is not a reconcile request goes to the reconcile DLQ at once, with its reason', async () => {
    const queueUrl = await runtime.queues.resolveQueueUrl(config.reconcileQueue);
    await runtime.queues.sendBatch(queueUrl, [{ body: '{"kind":"start","tenantId":"../etc"}' }]);
    const dlqUrl = await runtime.queues.resolveQueueUrl(config.reconcileDeadLetterQueue);
    const deadline = Date.now() + 20_000;
    let letters = await runtime.deadLetters.peek(dlqUrl, 10);
    while (letters.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      letters = await runtime.deadLetters.peek(dlqUrl, 10);
    }
    expect(letters).toHaveLength(1);
    expect(letters[0]?.reason).toBe('invalid-message');
    expect(letters[0]?.detail).toMatch(/tenantId/);
    expect(letters[0]?.detail).toMatch(/trigger/);
  });

  it('a step that keeps failing is retried with backoff; at the last attempt the run is failed and the message dead-lettered with its reason', async () => {
    const arn = seedTenant(emulator, [{ appInstanceUserId: 'guest-z', ageMs: days(1) }], 'broken');
    emulator.setFaults({ serviceUnavailableRate: 1 });
    try {
      await putPolicy('broken', arn);
      const run = await waitForRun('broken', (record) => record.state === 'failed', 90_000);
      expect(run.reason).toMatch(/ServiceUnavailable/);
      expect(run.counters.scanned).toBe(0);
      const dlqUrl = await runtime.queues.resolveQueueUrl(config.reconcileDeadLetterQueue);
      const deadline = Date.now() + 30_000;
      let letters = await runtime.deadLetters.peek(dlqUrl, 10);
      while (!letters.some((letter) => letter.body.includes('"broken"')) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        letters = await runtime.deadLetters.peek(dlqUrl, 10);
      }
      const letter = letters.find((candidate) => candidate.body.includes('"broken"'));
      expect(letter?.reason).toBe('retries-exhausted');
      expect(letter?.detail).toMatch(/ServiceUnavailable/);
      expect(eventBridge.events.some((event) => event.detailType === 'Tenant Run Failed')).toBe(true);
    } finally {
      emulator.setFaults({});
    }
  }, 120_000);
  it('a finished reconcile invocation gives its Chime quota lease back at once (a frozen Lambda cannot wait for its idle timer)', async () => {
    const users: SeedUser[] = Array.from({ length: 30 }, (_, index) => ({
      appInstanceUserId: `guest-${index}`,
      ageMs: days(1),
    }));
    await putPolicy('lease', seedTenant(emulator, users, 'lease'));
    await waitForRun('lease', (record) => record.state === 'completed');
    // Once no invocation is in flight, the lease must already be gone: the coordinator's own idle release
    // (3 s) and the lease's expiry (6 s) are both later than this.
    while (reconcileSource.stats.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const leases = new QuotaLeases(runtime.documents, config.stateTable);
    const live = (await leases.read()).leases.filter((lease) => lease.expiresAtMs > Date.now());
    expect(live).toEqual([]);
  });
});
