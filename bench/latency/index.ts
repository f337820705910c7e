/**
 * `npm run bench -- latency` (issue 20, "onboarding at the real quotas"): onboarding at the default quotas
 * (×1) through the offline stack as it is deployed (bench/deployed/context.ts: the real handlers under
 * serverless offline, the event-source runner with onboard-users' declared batch, window, concurrency and
 * timeout, DynamoDB Local, fauxqs with fair queues, the Chime emulator). 600 requests for one tenant are sent
 * at once, clean and then with the emulator answering 20% of calls 429 and 5% 503; each request's latency
 * runs from its send to its `User Onboarded` event. The quota bound is 600 creates at the AppInstance's
 * 10/s: 60 s.
 */
import { performance } from 'node:perf_hooks';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DEFAULT_CHIME_QUOTAS } from '../../shared/chime/quotas';
import { delta, describeCalls, sum } from '../deployed/calls';
import {
  type DeployedRun,
  runsFinished,
  seedTenant,
  startDeployedRun,
  startSync,
  type Tenant,
} from '../deployed/context';
import { onboardedTimes, quantile, sendTimed, tenantRequests } from '../deployed/onboarding-timing';
import { progress } from '../deployed/settings';
import type { BenchRow, BenchSection } from '../lib';
import { positiveFromEnv } from '../lib';
import { useDummyCredentials } from '../sync-stack';

const QUOTA_SCALE = 1;
const REQUESTS = Math.round(positiveFromEnv('BENCH_LATENCY_REQUESTS', 600));
const CREATE_RATE = DEFAULT_CHIME_QUOTAS['user-writes'] * QUOTA_SCALE;
const FAULTS = { throttleRate: 0.2, serviceUnavailableRate: 0.05 };

interface LatencyPass {
  readonly label: string;
  readonly created: number;
  readonly completionSeconds: number;
  readonly latencies: readonly number[];
  readonly timeouts: number;
  readonly announcedTwice: number;
  readonly deadLettered: number;
  readonly notes: string;
}

async function readyTenant(run: DeployedRun, label: string): Promise<Tenant> {
  const tenant = seedTenant(run, `lat-${label}-${run.runId}`, 0);
  // Its policy put reconciles the empty tenant: let that run end before the clock starts.
  const since = await startSync(run, [tenant]);
  await runsFinished(run, [tenant.tenantId], since, 120_000);
  return tenant;
}

/** Messages in the onboarding DLQ now. */
async function deadLetters(run: DeployedRun): Promise<number> {
  const { runtime, config } = run.stack;
  const url = await runtime.queues.resolveQueueUrl(config.onboardingDeadLetterQueue);
  const { Attributes } = await runtime.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}

async function latencyPass(
  run: DeployedRun,
  url: string,
  label: string,
  faulty: boolean,
): Promise<LatencyPass> {
  const { stack } = run;
  const tenant = await readyTenant(run, label);
  const requests = tenantRequests(tenant.tenantId, `lat-${label}`, REQUESTS);
  const before = stack.emulator.stats();
  const errorsBefore = run.errors.length;
  const deadBefore = await deadLetters(run);
  if (faulty) stack.emulator.setFaults(FAULTS);
  const started = performance.now();
  const sentAt = await sendTimed(run, url, requests);
  const keys = requests.map((request) => request.key);
  const { at, announcedTwice } = await onboardedTimes(run, keys, faulty ? 600_000 : 300_000);
  stack.emulator.setFaults({});
  const latencies = keys.flatMap((key) => {
    const done = at.get(key);
    const sent = sentAt.get(key);
    return done === undefined || sent === undefined ? [] : [(done - sent) / 1000];
  });
  const lastAt = Math.max(started, ...at.values());
  if (process.env.BENCH_LATENCY_TIMELINE) {
    const perSecond: number[] = [];
    for (const done of at.values()) {
      const second = Math.floor((done - started) / 1000);
      perSecond[second] = (perSecond[second] ?? 0) + 1;
    }
    progress(`${label}: users per second: ${Array.from(perSecond, (count) => count ?? 0).join(' ')}`);
  }
  const calls = delta(stack.emulator.stats(), before);
  const timeouts = run.errors
    .slice(errorsBefore)
    .filter((error) => error.source === 'onboard-users' && error.name === 'HandlerTimeoutError').length;
  const deadLettered = (await deadLetters(run)) - deadBefore;
  return {
    label,
    created: at.size,
    completionSeconds: (lastAt - started) / 1000,
    latencies,
    timeouts,
    announcedTwice,
    deadLettered,
    notes: `${describeCalls(calls.calls)} (${sum(calls.throttled)} throttled)`,
  };
}

function passRows(pass: LatencyPass, boundSeconds: number, goal: number): BenchRow[] {
  const rows: BenchRow[] = [
    {
      metric: `${pass.label}: completion ÷ quota bound`,
      value: pass.completionSeconds / boundSeconds,
      unit: '×',
      baseline: { label: 'bound s', value: boundSeconds },
      goal: { op: '<=', value: goal },
    },
    { metric: `${pass.label}: completion`, value: pass.completionSeconds, unit: 's' },
  ];
  for (const [name, q] of [
    ['p50', 0.5],
    ['p95', 0.95],
    ['p99', 0.99],
  ] as const) {
    rows.push({
      metric: `${pass.label}: ${name} request-to-user`,
      value: quantile(pass.latencies, q),
      unit: 's',
    });
  }
  rows.push(
    {
      metric: `${pass.label}: invocation timeouts`,
      value: pass.timeouts,
      unit: 'invocations',
      goal: { op: '<=', value: 0 },
    },
    {
      metric: `${pass.label}: lost (no user after the pass)`,
      value: REQUESTS - pass.created,
      unit: 'requests',
      goal: { op: '<=', value: 0 },
    },
    {
      metric: `${pass.label}: users announced twice`,
      value: pass.announcedTwice,
      unit: 'users',
      goal: { op: '<=', value: 0 },
    },
  );
  return rows;
}

export async function run(): Promise<BenchSection> {
  useDummyCredentials();
  const deployed = await startDeployedRun({ quotaScale: QUOTA_SCALE });
  try {
    const { stack } = deployed;
    const url = await stack.runtime.queues.resolveQueueUrl(stack.config.onboardingQueue);
    progress('latency: warm-up (the workers start, not timed)');
    const warm = await readyTenant(deployed, 'warm');
    const warmRequests = tenantRequests(warm.tenantId, 'warm', 4);
    await sendTimed(deployed, url, warmRequests);
    await onboardedTimes(
      deployed,
      warmRequests.map((request) => request.key),
      60_000,
    );
    progress(`latency: clean pass, ${REQUESTS} requests`);
    const clean = await latencyPass(deployed, url, 'clean', false);
    progress(`latency: faulty pass (20% 429 + 5% 503), ${REQUESTS} requests`);
    const faulty = await latencyPass(deployed, url, 'faulty', true);
    const bound = REQUESTS / CREATE_RATE;
    const source = stack.eventSources['onboard-users'];
    return {
      title: `Onboarding latency at the default quotas (×${QUOTA_SCALE}): ${REQUESTS} requests for one tenant`,
      notes: [
        ...deployed.notes,
        `onboard-users: batch ${source.batchSize}, window ${source.maximumBatchingWindowSeconds} s, ${source.concurrency} concurrent invocations, timeout ${source.timeoutSeconds} s (as declared for quota scale ${QUOTA_SCALE})`,
        `${REQUESTS} requests for one tenant sent at once (the tenant as message group); latency = its send to its User Onboarded event; quota bound ${REQUESTS} ÷ ${CREATE_RATE} creates/s = ${bound} s; a warm-up of 4 requests started the workers before the clock`,
        `clean: ${clean.created} users in ${clean.completionSeconds.toFixed(1)} s; ${clean.notes}; ${clean.deadLettered} dead-lettered`,
        `faulty (emulator: 20% 429, 5% 503): ${faulty.created} users in ${faulty.completionSeconds.toFixed(1)} s; ${faulty.notes}; ${faulty.deadLettered} dead-lettered`,
      ],
      rows: [
        ...passRows(clean, bound, 1.3),
        ...passRows(faulty, bound, 2),
        {
          metric: 'faulty p99 request-to-user ÷ clean completion',
          value: quantile(faulty.latencies, 0.99) / clean.completionSeconds,
          unit: '×',
          baseline: { label: 'clean completion s', value: clean.completionSeconds },
          goal: { op: '<=', value: 1.5 },
        },
      ],
    };
  } catch (error) {
    progress(`failed; serverless offline's last lines:\n${deployed.serverlessLines.join('\n')}`);
    throw error;
  } finally {
    await deployed.stop();
  }
}
