/**
 * Phases "onboarding" and "faulty": a backlog of onboarding requests drained by onboard-users, clean and then
 * with the emulator answering 20% of calls 429 and 5% 503, against the available create quota.
 */
import { performance } from 'node:perf_hooks';
import type { OutgoingMessage, SqsQueues } from '../../shared/aws/queues';
import { DEFAULT_CHIME_QUOTAS } from '../../shared/chime/quotas';
import { positiveFromEnv } from '../lib';
import { type CallCounts, delta, describeCalls, sum } from './calls';
import { type DeployedRun, runsFinished, seedTenant, startSync } from './context';
import { ONBOARDING_COUNT, ONBOARDING_TENANTS, progress, SCALE, SELECTED, sleep, TIMELINE } from './settings';

interface OnboardingPass {
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
      tenantId: tenantIds[index % ONBOARDING_TENANTS] as string,
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

async function onboardingPass(
  run: DeployedRun,
  onboardingUrl: string,
  label: string,
  count = ONBOARDING_COUNT,
): Promise<OnboardingPass> {
  const { stack } = run;
  const tenants = Array.from({ length: ONBOARDING_TENANTS }, (_, index) =>
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

/**
 * The warm-up (when either phase runs, or the onboarding-fairness phase above ×1: at 10 creates/s per
 * AppInstance there is nothing for a JIT to catch up with), then the selected phases.
 */
export async function onboardingPhases(run: DeployedRun): Promise<void> {
  const { stack } = run;
  const onboardingUrl = await stack.runtime.queues.resolveQueueUrl(stack.config.onboardingQueue);
  const available = Math.min(
    ONBOARDING_TENANTS * DEFAULT_CHIME_QUOTAS['user-writes'] * SCALE,
    DEFAULT_CHIME_QUOTAS.account * SCALE,
  );
  const fairnessNeedsWarmth = SELECTED.has('onboarding-fairness') && SCALE > 1;
  if (SELECTED.has('onboarding') || SELECTED.has('faulty') || fairnessNeedsWarmth) {
    progress('onboarding warm-up');
    // Cold starts and JIT warm-up are not throughput: a deployed onboard-users is warm while a backlog
    // drains, and DynamoDB itself has no JIT. Locally the first ~20 s of onboarding run slower while
    // DynamoDB Local's JVM compiles its transaction path and the workers' V8 optimises theirs (invocations
    // of 100 take ~800 ms at first, ~250 ms once warm; measured: a 3,000-request warm-up left the timed
    // pass at 0.72 of the quota, rising from 500 to 1,000 creates/s; 10,000 leave it flat near 1,000/s),
    // so a warm-up pass runs before the clock starts and its own rate is reported.
    const warmUp = await onboardingPass(
      run,
      onboardingUrl,
      'wu',
      Math.round(positiveFromEnv('BENCH_DEPLOYED_ONBOARDING_WARMUP', 10_000)),
    );
    run.notes.push(
      `onboarding warm-up (not timed): ${warmUp.created} requests in ${warmUp.seconds.toFixed(1)} s (${Math.round(warmUp.rate)} creates/s)`,
    );
  }
  if (SELECTED.has('onboarding')) {
    progress('onboarding');
    const clean = await onboardingPass(run, onboardingUrl, 'on');
    run.notes.push(
      `onboarding: ${ONBOARDING_COUNT} requests over ${ONBOARDING_TENANTS} tenants, queued (in ${clean.queueingSeconds.toFixed(1)} s) with the onboard-users mapping disabled, then enabled; available create quota min(${ONBOARDING_TENANTS} × ${10 * SCALE}, ${50 * SCALE}) = ${available}/s; ${clean.created} created in ${clean.seconds.toFixed(1)} s (from enabling the mapping to the last User Onboarded event); ${describeCalls(clean.calls.calls)}`,
    );
    run.rows.push({
      metric: `onboarding throughput (${ONBOARDING_TENANTS} tenants) ÷ available create quota`,
      value: clean.rate / available,
      unit: '',
      baseline: { label: 'creates/s', value: clean.rate },
      goal: { op: '>=', value: 0.9 },
    });
  }
  if (SELECTED.has('faulty')) {
    progress('faulty onboarding');
    stack.emulator.setFaults({ throttleRate: 0.2, serviceUnavailableRate: 0.05 });
    const faulty = await onboardingPass(run, onboardingUrl, 'of');
    stack.emulator.setFaults({});
    run.notes.push(
      `faulty onboarding (emulator answers 20% of calls 429, 5% 503): ${faulty.created} created in ${faulty.seconds.toFixed(1)} s; ${describeCalls(faulty.calls.calls)} (${sum(faulty.calls.throttled)} throttled)`,
    );
    run.rows.push({
      metric: 'faulty onboarding pass (20% 429 + 5% 503) ÷ available create quota',
      value: faulty.rate / available,
      unit: '',
      baseline: { label: 'creates/s', value: faulty.rate },
      goal: { op: '>=', value: 0.5 },
    });
  }
}
