/**
 * Phases "onboarding" and "faulty": a backlog of onboarding requests drained by onboard-users, clean and then
 * with the emulator answering 20% of calls 429 and 5% 503, against min(available create quota, ceiling): the
 * same pass's rate in the ceiling run (quotas lifted, same machine, same run).
 */
import { performance } from 'node:perf_hooks';
import type { OutgoingMessage, SqsQueues } from '../../shared/aws/queues';
import { DEFAULT_CHIME_QUOTAS } from '../../shared/chime/quotas';
import { type BenchRow, effectiveBound } from '../lib';
import { type CallCounts, delta, describeCalls, sum } from './calls';
import { type Ceilings, measured as ceilingOf } from './ceilings';
import { type DeployedRun, runsFinished, seedTenant, startSync } from './context';
import {
  ONBOARDING_COUNT,
  ONBOARDING_TENANTS,
  ONBOARDING_WARMUP,
  progress,
  SELECTED,
  sleep,
  TIMELINE,
} from './settings';

export interface OnboardingPass {
  readonly created: number;
  readonly seconds: number;
  readonly rate: number;
  readonly calls: CallCounts;
  readonly queueingSeconds: number;
}

/**
 * Onboarding requests for `count` new users spread over the tenants, as queue messages (the tenant as message
 * group, as producers send them), and their keys.
 */
function onboardingRequests(label: string, tenantIds: readonly string[], count: number) {
  const expected = new Set<string>();
  const messages = Array.from({ length: count }, (_, index) => {
    const request = {
      tenantId: tenantIds[index % tenantIds.length] as string,
      appInstanceUserId: `guest-${label}-${index}`,
      name: `Person ${index}`,
    };
    expected.add(`${request.tenantId}/${request.appInstanceUserId}`);
    return { body: JSON.stringify(request), groupId: request.tenantId };
  });
  return { expected, messages };
}

/** Sends messages in chunks of 100 (10 SendMessageBatch each), all at once. */
export async function sendInChunks(
  queues: Pick<SqsQueues, 'sendBatch'>,
  queueUrl: string,
  messages: readonly OutgoingMessage[],
): Promise<void> {
  const chunks: OutgoingMessage[][] = [];
  for (let index = 0; index < messages.length; index += 100) chunks.push(messages.slice(index, index + 100));
  await Promise.all(chunks.map((part) => queues.sendBatch(queueUrl, part)));
}

/** Waits (at most 10 minutes) until every expected user was onboarded; returns how many and when the last was. */
async function onboardedUsers(run: DeployedRun, expected: ReadonlySet<string>, started: number) {
  const seen = new Set<string>();
  let lastAt = started;
  let scanned = 0;
  const deadline = Date.now() + 600_000;
  while (seen.size < expected.size && Date.now() < deadline) {
    await sleep(100);
    for (; scanned < run.onboarded.length; scanned++) {
      const event = run.onboarded[scanned] as (typeof run.onboarded)[number];
      if (expected.has(event.key) && !seen.has(event.key)) {
        seen.add(event.key);
        lastAt = event.at;
      }
    }
  }
  return { created: seen.size, lastAt };
}

function printTimeline(run: DeployedRun, label: string, started: number, queueingSeconds: number): void {
  const perSecond: number[] = [];
  for (const event of run.onboarded) {
    const second = Math.floor((event.at - started) / 1000);
    if (second >= 0) perSecond[second] = (perSecond[second] ?? 0) + 1;
  }
  progress(
    `${label} queued in ${queueingSeconds.toFixed(2)} s (before the clock); per second: ${Array.from(perSecond, (count) => count ?? 0).join(' ')}`,
  );
  const wallStart = Date.now() - (performance.now() - started);
  progress(
    `${label} account lease holders per second: ${run.holderSamples
      .filter((sample) => sample.at >= wallStart)
      .map((sample) => sample.holders)
      .join(' ')}`,
  );
}

/** `count` requests over `tenantCount` new tenants, queued, then drained: the consumers' creates/s. */
export async function onboardingPass(
  run: DeployedRun,
  label: string,
  count = ONBOARDING_COUNT,
  tenantCount = ONBOARDING_TENANTS,
): Promise<OnboardingPass> {
  const { stack } = run;
  const onboardingUrl = await stack.runtime.queues.resolveQueueUrl(stack.config.onboardingQueue);
  const tenants = Array.from({ length: tenantCount }, (_, index) =>
    seedTenant(run, `${label}${index}-${run.runId}`, 0),
  );
  // The policy puts reconcile the empty tenants; let those runs end first.
  const since = await startSync(run, tenants);
  const tenantIds = tenants.map((tenant) => tenant.tenantId);
  await runsFinished(run, tenantIds, since, 120_000);
  const { expected, messages } = onboardingRequests(label, tenantIds, count);
  // The backlog is queued with the mapping disabled, then the mapping is enabled and the clock starts: the
  // measure is the consumers', as in the one-process soak. Queued while they ran, the 20,000 sends took
  // the first ~2.5 s of the same two cores (on AWS the producer and SQS are not on the functions' CPU).
  await stack.setEventSourceEnabled('onboard-users', false);
  const queueingStarted = performance.now();
  await sendInChunks(stack.runtime.queues, onboardingUrl, messages);
  const queueingSeconds = (performance.now() - queueingStarted) / 1000;
  const before = stack.emulator.stats();
  const started = performance.now();
  await stack.setEventSourceEnabled('onboard-users', true);
  const { created, lastAt } = await onboardedUsers(run, expected, started);
  const seconds = (lastAt - started) / 1000;
  if (TIMELINE) printTimeline(run, label, started, queueingSeconds);
  const calls = delta(stack.emulator.stats(), before);
  return { created, seconds, rate: created / seconds, calls, queueingSeconds };
}

/** Cold starts and JIT warm-up are not throughput: an untimed pass first (its own rate is noted). */
export async function warmUp(run: DeployedRun): Promise<OnboardingPass> {
  // A deployed onboard-users is warm while a backlog drains, and DynamoDB itself has no JIT. Locally the
  // first ~20 s of onboarding run slower while DynamoDB Local's JVM compiles its transaction path and the
  // workers' V8 optimises theirs (invocations of 100 took ~800 ms at first, ~250 ms once warm; a too short
  // warm-up left the timed pass at 0.72 of the quota at ×20), so a warm-up pass runs before the clock starts.
  return onboardingPass(run, 'wu', ONBOARDING_WARMUP);
}

/** The available create quota of the 5 tenants: min(Σ per-AppInstance quota, account quota). */
export function availableCreates(quotaScale: number): number {
  return Math.min(
    ONBOARDING_TENANTS * DEFAULT_CHIME_QUOTAS['user-writes'] * quotaScale,
    DEFAULT_CHIME_QUOTAS.account * quotaScale,
  );
}

function passRow(
  metric: string,
  pass: OnboardingPass,
  quota: number,
  ceiling: number,
  goal: number,
): BenchRow {
  const bounds = { kind: 'rate' as const, quota, ceiling, unit: 'creates/s' };
  return {
    metric,
    value: pass.rate / effectiveBound(bounds),
    unit: '',
    bounds,
    goal: { op: '>=', value: goal },
  };
}

/**
 * The warm-up (when either phase runs, or the onboarding-fairness phase above ×1: at 10 creates/s per
 * AppInstance there is nothing for a JIT to catch up with), then the selected phases.
 */
export async function onboardingPhases(run: DeployedRun, ceilings: Ceilings): Promise<void> {
  const { stack } = run;
  const available = availableCreates(run.quotaScale);
  if (SELECTED.has('onboarding') || SELECTED.has('faulty')) {
    progress('onboarding warm-up');
    const warm = await warmUp(run);
    run.notes.push(
      `onboarding warm-up (not timed): ${warm.created} requests in ${warm.seconds.toFixed(1)} s (${Math.round(warm.rate)} creates/s)`,
    );
  }
  if (SELECTED.has('onboarding')) {
    progress('onboarding');
    const clean = await onboardingPass(run, 'on');
    const ceiling = ceilingOf(ceilings, 'onboarding');
    run.notes.push(
      `onboarding: ${ONBOARDING_COUNT} requests over ${ONBOARDING_TENANTS} tenants, queued (in ${clean.queueingSeconds.toFixed(1)} s) with the onboard-users mapping disabled, then enabled; available create quota min(${ONBOARDING_TENANTS} × ${10 * run.quotaScale}, ${50 * run.quotaScale}) = ${available}/s; ceiling (the same pass with the quotas lifted) ${ceiling.toFixed(0)}/s; ${clean.created} created in ${clean.seconds.toFixed(1)} s (${clean.rate.toFixed(0)}/s, from enabling the mapping to the last User Onboarded event); ${describeCalls(clean.calls.calls)}`,
    );
    run.rows.push(
      passRow(
        `onboarding throughput (${ONBOARDING_TENANTS} tenants) ÷ min(available create quota, ceiling)`,
        clean,
        available,
        ceiling,
        0.9,
      ),
    );
  }
  if (SELECTED.has('faulty')) {
    progress('faulty onboarding');
    stack.emulator.setFaults(FAULTS);
    const faulty = await onboardingPass(run, 'of');
    stack.emulator.setFaults({});
    const ceiling = ceilingOf(ceilings, 'faulty');
    run.notes.push(
      `faulty onboarding (emulator answers 20% of calls 429, 5% 503): ${faulty.created} created in ${faulty.seconds.toFixed(1)} s (${faulty.rate.toFixed(0)}/s; ceiling, the same faulty pass with the quotas lifted: ${ceiling.toFixed(0)}/s); ${describeCalls(faulty.calls.calls)} (${sum(faulty.calls.throttled)} throttled)`,
    );
    run.rows.push(
      passRow(
        'faulty onboarding pass (20% 429 + 5% 503) ÷ min(available create quota, ceiling)',
        faulty,
        available,
        ceiling,
        0.5,
      ),
    );
  }
}

export const FAULTS = { throttleRate: 0.2, serviceUnavailableRate: 0.05 };
