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
import { startChimeEmulator } from '../../emulator';
import { startDynamoDbLocal } from '../../local/dynamodb-local';
import { environmentFor, isolatedConfig } from '../../local/environment';
import type { SqsEventHandler } from '../../local/event-source-runner';
import { startLocalEventBridge } from '../../local/eventbridge-server';
import { ensureQueues } from '../../local/queue-provisioning';
import { startSqsServer } from '../../local/sqs-server';
import { ensureTables } from '../../shared/aws/tables';
import { DEFAULT_CHIME_QUOTAS } from '../../shared/chime/quotas';
import { Runtime } from '../../shared/composition-root';
import type { BenchRow, BenchSection } from '../lib';
import { type PassContext, type PassResult, runPass } from './pass';
import { CONCURRENCY, DUPLICATE_SHARE, PASSES, QUOTA_SCALE, RETRY_CAP_SECONDS, TENANTS } from './settings';

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
    const { handler } = await import('../../functions/onboard-users/handler');

    const quotaPerAppInstance = DEFAULT_CHIME_QUOTAS['user-writes'] * QUOTA_SCALE;
    const accountQuota = DEFAULT_CHIME_QUOTAS.account * QUOTA_SCALE * config.accountQuotaShare;
    const availablePerSecond = Math.min(TENANTS * quotaPerAppInstance, accountQuota);
    const context: PassContext = {
      runtime,
      emulator,
      events: eventBridge.events,
      queue,
      handler: handler as SqsEventHandler,
      availablePerSecond,
    };

    const results: PassResult[] = [];
    if (PASSES.includes('clean')) results.push(await runPass(context, 'clean', {}));
    if (PASSES.includes('faulty')) {
      results.push(await runPass(context, 'faulty', { throttleRate: 0.2, serviceUnavailableRate: 0.05 }));
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
