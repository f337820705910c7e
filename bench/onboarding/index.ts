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
import { loadConfig } from '../../shared/config';
import { type BenchRow, type BenchSection, effectiveBound } from '../lib';
import { cleanPassCeiling } from './ceiling';
import { type PassContext, type PassResult, runPass } from './pass';
import {
  CEILING_QUOTA_SCALE,
  CONCURRENCY,
  DUPLICATE_SHARE,
  PASSES,
  QUOTA_SCALE,
  RETRY_CAP_SECONDS,
  TENANTS,
} from './settings';

/** The clean pass against min(available quota, ceiling), judged only where the quota is at most half the ceiling. */
function cleanRow(result: PassResult, ceiling: number): BenchRow {
  const bounds = { kind: 'rate' as const, quota: result.availablePerSecond, ceiling, unit: 'creates/s' };
  return {
    metric: `${result.label}: throughput ÷ min(available quota, ceiling)`,
    value: result.createsPerSecond / effectiveBound(bounds),
    unit: '',
    bounds,
    goal: { op: '>=', value: 0.9 },
  };
}

interface Quota {
  readonly availablePerSecond: number;
  readonly quotaPerAppInstance: number;
  readonly accountQuota: number;
}

/**
 * The soak's passes against fresh servers whose emulator and handler enforce the quotas at `enforcedScale`;
 * the available quota is QUOTA_SCALE's. The handler reads its configuration once, when imported, so a run
 * at another enforced scale (the ceiling) needs a process of its own (ceiling.ts).
 */
export async function soak(enforcedScale: number, passes: readonly string[]): Promise<PassResult[]> {
  process.env.AWS_ACCESS_KEY_ID ??= 'bench';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
  process.env.AWS_REGION ??= 'us-east-1';
  const dynamo = await startDynamoDbLocal();
  const emulator = await startChimeEmulator({ port: 0, quotaScale: enforcedScale });
  const eventBridge = await startLocalEventBridge();
  const sqsServer = await startSqsServer();
  const prefix = `bench${randomUUID().slice(0, 6)}`;
  const config = isolatedConfig(prefix, { eventBus: 'default', quotaScale: enforcedScale });
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
    const context: PassContext = {
      runtime,
      emulator,
      events: eventBridge.events,
      queue,
      handler: handler as SqsEventHandler,
      availablePerSecond: availableQuota(config.accountQuotaShare).availablePerSecond,
    };
    const results: PassResult[] = [];
    if (passes.includes('clean')) results.push(await runPass(context, 'clean', {}));
    if (passes.includes('faulty')) {
      results.push(await runPass(context, 'faulty', { throttleRate: 0.2, serviceUnavailableRate: 0.05 }));
    }
    return results;
  } finally {
    runtime.destroy();
    await sqsServer.close();
    await eventBridge.close();
    await emulator.close();
    await dynamo.close();
  }
}

/** min(Σ per-AppInstance create quota, the account quota) at QUOTA_SCALE. */
function availableQuota(accountQuotaShare: number): Quota {
  const quotaPerAppInstance = DEFAULT_CHIME_QUOTAS['user-writes'] * QUOTA_SCALE;
  const accountQuota = DEFAULT_CHIME_QUOTAS.account * QUOTA_SCALE * accountQuotaShare;
  return {
    availablePerSecond: Math.min(TENANTS * quotaPerAppInstance, accountQuota),
    quotaPerAppInstance,
    accountQuota,
  };
}

export async function run(): Promise<BenchSection> {
  // The clean pass's ceiling first, in a child process (the same pass with the quotas lifted): issue 24.
  const ceiling = PASSES.includes('clean') ? await cleanPassCeiling() : undefined;
  const results = await soak(QUOTA_SCALE, PASSES);
  return section(results, availableQuota(loadConfig({}).accountQuotaShare), ceiling);
}

function section(passes: readonly PassResult[], quota: Quota, ceiling: number | undefined): BenchSection {
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
      faulty || ceiling === undefined
        ? {
            metric: `${result.label}: throughput ÷ available quota`,
            value: result.createsPerSecond / result.availablePerSecond,
            unit: '',
          }
        : cleanRow(result, ceiling),
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
      `ceiling (the same clean pass in a process of its own, its emulator and handler at quota scale ${CEILING_QUOTA_SCALE}, in the same run): ${ceiling === undefined ? 'not measured (no clean pass)' : `${ceiling.toFixed(0)} creates/s`}`,
      'under random 429s the shared adaptive limiter (AIMD) cuts its rate on every throttle window, so the faulty pass measures how the limiter copes with a throttling Chime, not the onboarding path',
    ],
    rows,
  };
}
