/**
 * Onboarding soak: N requests (default 10,000; BENCH_ONBOARDING_COUNT to change) over 5 tenants, 20% of them
 * sent twice more as duplicate messages, through the real onboard-users handler on the local SQS event
 * source, the Chime emulator, DynamoDB Local and the local EventBridge. Two passes: without faults, then with
 * the emulator failing 20% of calls with 429 and 5% with 503.
 *
 * Checks: no user created twice (one `User Onboarded` per user, every user listed once), nothing lost (every
 * request is a user or a DLQ entry with a reason). Measures creates/s against the create quota actually
 * available: min(Σ per-AppInstance user-writes quota, account quota) at the scaled quotas.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { startChimeEmulator } from '../emulator';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { environmentFor, isolatedConfig } from '../local/environment';
import { type SqsEventHandler, startEventSource } from '../local/event-source-runner';
import { startLocalEventBridge } from '../local/eventbridge-server';
import { ensureQueues } from '../local/queue-provisioning';
import { startSqsServer } from '../local/sqs-server';
import { ensureTables } from '../shared/aws/tables';
import { DEFAULT_CHIME_QUOTAS } from '../shared/chime/quotas';
import { Runtime } from '../shared/composition-root';
import { parsePolicy } from '../shared/policy';
import type { BenchRow, BenchSection } from './lib';

const COUNT = Number(process.env.BENCH_ONBOARDING_COUNT ?? 10_000);
const TENANTS = 5;
/** Which passes to run: `clean`, `faulty` or both (BENCH_ONBOARDING_PASSES, comma-separated). */
const PASSES = (process.env.BENCH_ONBOARDING_PASSES ?? 'clean,faulty').split(',').map((name) => name.trim());
/**
 * The longest retry delay of a failed message in the soak (the product default is 300 s). Throughput under
 * faults is not a goal; a shorter cap keeps the pass's tail from being minutes of messages waiting out their
 * backoff, so 10,000 faulty requests finish in one sitting.
 */
const RETRY_CAP_SECONDS = process.env.BENCH_ONBOARDING_RETRY_CAP_SECONDS ?? '30';
const DUPLICATE_SHARE = 0.2;
const QUOTA_SCALE = Number(process.env.BENCH_ONBOARDING_QUOTA_SCALE ?? 1);
/**
 * Pollers × 10 messages is the work in flight. Kept small enough that a record's wait in the rate limiter
 * stays far below the function timeout even when faults slow the limiter down: a record that outlives its
 * invocation (the local runner cannot kill it, as Lambda would) can run a second time after its
 * in-progress idempotency record expires.
 */
const CONCURRENCY = 8;
/** A pass gives up after this long; anything not done by then counts as lost. */
const PASS_TIMEOUT_MS = Math.max(150_000, COUNT * 240);

interface PassResult {
  readonly label: string;
  readonly requests: number;
  readonly messages: number;
  readonly created: number;
  readonly deadLettered: number;
  readonly duplicateUsers: number;
  readonly duplicateEvents: number;
  readonly lost: number;
  /** Requests not yet done when the pass timed out, while messages were still queued (not lost: unfinished). */
  readonly unfinished: number;
  readonly stillQueued: number;
  readonly seconds: number;
  readonly createsPerSecond: number;
  readonly availablePerSecond: number;
  readonly chimeThrottled: number;
  readonly faults: number;
}

export async function run(): Promise<BenchSection> {
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.AWS_REGION ??= 'us-east-1';
  const dynamo = await startDynamoDbLocal();
  const emulator = await startChimeEmulator({ port: 0, quotaScale: QUOTA_SCALE });
  const eventBridge = await startLocalEventBridge();
  const sqsServer = await startSqsServer();
  const prefix = `bench${randomUUID().slice(0, 6)}`;
  const config = isolatedConfig(prefix, { eventBus: 'default', quotaScale: QUOTA_SCALE });
  const runtime = new Runtime(config, {
    endpoints: {
      dynamodb: dynamo.url,
      chime: emulator.url,
      eventbridge: eventBridge.url,
      sqs: sqsServer.url,
    },
  });
  try {
    await ensureTables(runtime.dynamo, config);
    const { onboarding: queue } = await ensureQueues(runtime.sqs, config);
    Object.assign(process.env, {
      ...environmentFor(
        { ...config, onboardingRetryCapSeconds: Number(RETRY_CAP_SECONDS) },
        { dynamodb: dynamo.url, chime: emulator.url, sqs: sqsServer.url, eventbridge: eventBridge.url },
      ),
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    });
    const { handler } = await import('../functions/onboard-users/handler');

    const quotaPerAppInstance = DEFAULT_CHIME_QUOTAS['user-writes'] * QUOTA_SCALE;
    const accountQuota = DEFAULT_CHIME_QUOTAS.account * QUOTA_SCALE * config.accountQuotaShare;
    const availablePerSecond = Math.min(TENANTS * quotaPerAppInstance, accountQuota);

    const pass = async (
      label: string,
      faults: Parameters<typeof emulator.setFaults>[0],
    ): Promise<PassResult> => {
      const tenants: { tenantId: string; arn: string }[] = [];
      for (let index = 0; index < TENANTS; index++) {
        const tenantId = `${label}-t${index}`;
        const arn = emulator.seed({ appInstanceName: tenantId, users: [] }).appInstanceArn;
        const document = {
          tenantId,
          appInstanceArn: arn,
          enabled: true,
          rules: [{ id: 'guests', priority: 10, match: { userIdPrefix: 'guest-' }, expiration: { days: 7 } }],
          default: { expiration: { days: 365 } },
        };
        const parsed = parsePolicy(document);
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
        await runtime.policyStore.put(parsed.policy, document, null);
        tenants.push({ tenantId, arn });
      }
      const requests = Array.from({ length: COUNT }, (_, index) => {
        const tenant = tenants[index % TENANTS] as (typeof tenants)[number];
        return {
          tenantId: tenant.tenantId,
          appInstanceUserId: `${index % 2 === 0 ? 'guest' : 'user'}-${index}`,
          name: `Person ${index}`,
        };
      });
      const duplicates = requests.filter(() => Math.random() < DUPLICATE_SHARE);
      const messages = shuffle([...requests, ...duplicates].map((request) => JSON.stringify(request)));

      const eventsBefore = eventBridge.events.length;
      const statsBefore = emulator.stats();
      emulator.setFaults(faults);
      // Queue everything first, so the measure is the consumer's throughput, not the producer's.
      await Promise.all(
        chunk(messages, 100).map((part) =>
          runtime.queues.sendBatch(
            queue.url,
            part.map((body) => ({ body })),
          ),
        ),
      );
      const source = await startEventSource({
        sqs: runtime.sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        handler: handler as SqsEventHandler,
        batchSize: 10,
        waitTimeSeconds: 1,
        concurrency: CONCURRENCY,
        functionName: 'onboard-users',
        timeoutMs: 60_000,
        onError: () => {},
      });
      const started = performance.now();
      let lastCreatedAt = started;
      const expected = new Set(requests.map((request) => `${request.tenantId}/${request.appInstanceUserId}`));
      const onboarded = new Map<string, number>();
      let deadLettered = new Map<string, string>();
      let scanned = eventsBefore;
      const deadline = Date.now() + PASS_TIMEOUT_MS;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        for (; scanned < eventBridge.events.length; scanned++) {
          const event = eventBridge.events[scanned];
          if (event?.detailType !== 'User Onboarded') continue;
          const detail = event.detail as { tenantId: string; appInstanceUserId: string };
          const key = `${detail.tenantId}/${detail.appInstanceUserId}`;
          if (!expected.has(key)) continue;
          onboarded.set(key, (onboarded.get(key) ?? 0) + 1);
          lastCreatedAt = performance.now();
        }
        if (onboarded.size + deadLettered.size >= expected.size) break;
        if (source.stats.inFlight === 0 && onboarded.size < expected.size) {
          deadLettered = await deadLettersOf(runtime, queue.deadLetterUrl, expected);
        }
        if (Date.now() > deadline) break;
      }
      // Let redelivered duplicates (hidden by their backoff) come back and prove they create nothing.
      await source.drain({ idleMs: 3_000, timeoutMs: 60_000 }).catch(() => undefined);
      await source.stop();
      emulator.setFaults({});
      deadLettered = await deadLettersOf(runtime, queue.deadLetterUrl, expected);
      for (; scanned < eventBridge.events.length; scanned++) {
        const event = eventBridge.events[scanned];
        if (event?.detailType !== 'User Onboarded') continue;
        const detail = event.detail as { tenantId: string; appInstanceUserId: string };
        const key = `${detail.tenantId}/${detail.appInstanceUserId}`;
        if (expected.has(key)) onboarded.set(key, (onboarded.get(key) ?? 0) + 1);
      }

      // Every user in Chime once (ids are unique per AppInstance, so a second create could only show up as a
      // second event or an unexpected id), and every request accounted for.
      const listed = new Map<string, number>();
      for (const tenant of tenants) {
        for await (const page of runtime.chimeUsers.listPages(tenant.arn)) {
          for (const user of page.users) {
            const key = `${tenant.tenantId}/${user.appInstanceUserId}`;
            listed.set(key, (listed.get(key) ?? 0) + 1);
          }
        }
      }
      const duplicateUsers =
        [...listed.values()].filter((count) => count > 1).length +
        [...listed.keys()].filter((key) => !expected.has(key)).length;
      const duplicateEvents = [...onboarded.values()].filter((count) => count > 1).length;
      const unaccounted = [...expected].filter((key) => !listed.has(key) && !deadLettered.has(key)).length;
      const { Attributes = {} } = await runtime.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      const stillQueued =
        Number(Attributes.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
      // With the queue empty, a request that is neither a user nor a DLQ entry is lost. With messages still
      // queued (the pass timed out) the missing requests are unfinished, and the pass cannot judge.
      const lost = stillQueued === 0 ? unaccounted : 0;
      const unfinished = stillQueued === 0 ? 0 : unaccounted;
      // Leftovers must not leak into the next pass.
      if (stillQueued > 0) await runtime.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
      for (const [, reason] of deadLettered) if (!reason) throw new Error('a DLQ entry has no reason');
      const statsAfter = emulator.stats();
      const seconds = (lastCreatedAt - started) / 1000;
      return {
        label,
        requests: requests.length,
        messages: messages.length,
        created: listed.size,
        deadLettered: deadLettered.size,
        duplicateUsers,
        duplicateEvents,
        lost,
        unfinished,
        stillQueued,
        seconds,
        createsPerSecond: listed.size / seconds,
        availablePerSecond,
        chimeThrottled:
          sum(statsAfter.throttled) - sum(statsBefore.throttled) - (statsAfter.faults - statsBefore.faults),
        faults: statsAfter.faults - statsBefore.faults,
      };
    };

    const results: PassResult[] = [];
    if (PASSES.includes('clean')) results.push(await pass('clean', {}));
    if (PASSES.includes('faulty')) {
      results.push(await pass('faulty', { throttleRate: 0.2, serviceUnavailableRate: 0.05 }));
    }
    return section(results, { availablePerSecond, quotaPerAppInstance, accountQuota });
  } finally {
    runtime.destroy();
    await sqsServer.close();
    await eventBridge.close();
    await emulator.close();
    await dynamo.close();
  }
}

function section(
  passes: readonly PassResult[],
  quota: { availablePerSecond: number; quotaPerAppInstance: number; accountQuota: number },
): BenchSection {
  const rows: BenchRow[] = [];
  for (const result of passes) {
    const faulty = result.faults > 0;
    rows.push(
      { metric: `${result.label}: users created`, value: result.created, unit: 'users' },
      {
        metric: `${result.label}: dead-lettered (with a reason)`,
        value: result.deadLettered,
        unit: 'requests',
      },
      {
        metric: `${result.label}: duplicate users`,
        value: result.duplicateUsers,
        unit: 'users',
        goal: { op: '<=', value: 0 },
      },
      {
        metric: `${result.label}: users with more than one User Onboarded event`,
        value: result.duplicateEvents,
        unit: 'users',
        goal: { op: '<=', value: 0 },
      },
      {
        metric: `${result.label}: lost requests`,
        value: result.lost,
        unit: 'requests',
        goal: { op: '<=', value: 0 },
      },
      {
        metric: `${result.label}: unfinished when the pass timed out (still queued, not lost)`,
        value: result.unfinished,
        unit: 'requests',
      },
      {
        metric: `${result.label}: create throughput`,
        value: result.createsPerSecond,
        unit: 'creates/s',
        baseline: { label: 'available create quota', value: result.availablePerSecond },
      },
      {
        metric: `${result.label}: throughput ÷ available quota`,
        value: result.createsPerSecond / result.availablePerSecond,
        unit: '',
        ...(faulty ? {} : { goal: { op: '>=' as const, value: 0.9 } }),
      },
      { metric: `${result.label}: wall time to last create`, value: result.seconds, unit: 's' },
    );
    if (faulty) {
      rows.push({ metric: `${result.label}: injected faults answered`, value: result.faults, unit: 'calls' });
    }
  }
  const first = passes[0];
  return {
    title: 'Onboarding soak (queue → onboard-users → Chime emulator)',
    notes: [
      `${first?.requests ?? 0} requests per pass over ${TENANTS} tenants, plus ${Math.round(DUPLICATE_SHARE * 100)}% duplicate messages (${first?.messages ?? 0} messages); BENCH_ONBOARDING_COUNT changes the count`,
      `quota scale ${QUOTA_SCALE}: ${quota.quotaPerAppInstance} creates/s per AppInstance × ${TENANTS} = ${quota.quotaPerAppInstance * TENANTS}, account ${quota.accountQuota} rps → available ${quota.availablePerSecond} creates/s`,
      `local event source: ${CONCURRENCY} pollers × batches of 10; passes: ${PASSES.join(', ')} (faulty: the emulator answers 20% of calls with 429 and 5% with 503); retry delay capped at ${RETRY_CAP_SECONDS} s (CHIME_LIFECYCLE_ONBOARDING_RETRY_CAP_SECONDS)`,
      'throughput = users created ÷ time from the first receive to the last User Onboarded event',
      'under random 429s the shared adaptive limiter (AIMD) cuts its rate on every throttle window, so the faulty pass measures how the limiter copes with a throttling Chime, not the onboarding path',
    ],
    rows,
  };
}

async function deadLettersOf(
  runtime: Runtime,
  deadLetterUrl: string,
  expected: ReadonlySet<string>,
): Promise<Map<string, string>> {
  const letters = await runtime.deadLetters.peek(deadLetterUrl, 10_000);
  const found = new Map<string, string>();
  for (const letter of letters) {
    try {
      const body = JSON.parse(letter.body) as { tenantId?: string; appInstanceUserId?: string };
      const key = `${body.tenantId}/${body.appInstanceUserId}`;
      if (expected.has(key)) found.set(key, letter.reason);
    } catch {
      // Not one of ours.
    }
  }
  return found;
}

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((total, value) => total + value, 0);
}
