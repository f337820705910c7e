/**
 * CLI benchmark, part 3 of issue 21: `plan` of a 10,000-user tenant whose ledger is fresh costs what the
 * tenant's steady-state sync costs (goal: at most 1.2x), both run as an operator runs them (a process per
 * call, wall time from spawn to exit), interleaved in one run so load from elsewhere falls on both alike.
 *
 * The tenant is the sync bench's population (bench/sync-stack.ts) in the Chime emulator (a child process, at
 * BENCH_QUOTA_SCALE like the sync bench) and DynamoDB Local; a first `sync` fills the ledger, after which a
 * `plan` needs the list pages and no DescribeAppInstanceUser (counted by the emulator).
 *
 * Knobs: BENCH_SYNC_USERS (default 10,000), BENCH_QUOTA_SCALE (default 20), CLI_BENCH_PLAN_CALLS (samples of
 * each, default 3).
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { CreateEventBusCommand } from '@aws-sdk/client-eventbridge';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { environmentFor } from '../local/environment';
import { startLocalEventBridge } from '../local/eventbridge-server';
import { ensureTables } from '../shared/aws/tables';
import { Runtime } from '../shared/composition-root';
import type { BenchSection } from './lib';
import { positiveFromEnv } from './lib';
import { killRunning, startEmulator, stopChild } from './sync/children';
import { CallDelta, emulatorStats, seedTenant } from './sync/emulator-calls';
import { QUOTA_SCALE, USERS } from './sync/settings';
import { benchConfig, putPolicy, useDummyCredentials } from './sync-stack';

const ROOT = path.join(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'chime-lifecycle.js');
const CALLS = positiveFromEnv('CLI_BENCH_PLAN_CALLS', 3);
const TENANT = 'plan-bench';

function progress(message: string): void {
  console.error(`[cli ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Runs the CLI; resolves with the wall time from spawn to exit (exit 0 required). */
function timedCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else
        reject(new Error(`chime-lifecycle ${args.join(' ')} exited ${code}: ${stderr.trim().slice(-2000)}`));
    });
  });
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

export async function planAgainstSteadySync(): Promise<BenchSection> {
  useDummyCredentials();
  process.once('exit', killRunning);
  const config = benchConfig(`cli-plan-${randomUUID().slice(0, 8)}`, QUOTA_SCALE);
  const dynamo = await startDynamoDbLocal();
  const emulator = await startEmulator(QUOTA_SCALE);
  const eventBridge = await startLocalEventBridge();
  const setup = new Runtime(config, {
    endpoints: { dynamodb: dynamo.url, chime: emulator.url, eventbridge: eventBridge.url },
  });
  try {
    await ensureTables(setup.dynamo, config);
    await setup.eventBridge.send(new CreateEventBusCommand({ Name: config.eventBus }));
    const arn = await seedTenant(emulator.url, TENANT, USERS);
    await putPolicy(setup, TENANT, arn);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...environmentFor(config, {
        dynamodb: dynamo.url,
        chime: emulator.url,
        // Neither command sends to a queue: `sync` runs in this process (pull mode).
        sqs: 'http://127.0.0.1:9',
        eventbridge: eventBridge.url,
      }),
    };
    progress(`first sync of ${USERS.toLocaleString('en-US')} users (fills the ledger)`);
    const first = await timedCli(['sync', '--tenant', TENANT], env);
    progress(`first sync took ${(first / 1000).toFixed(1)} s; measuring plan and steady-state sync`);
    // One unmeasured call of each: the bundle's first start after an edit, and the page cache.
    await timedCli(['plan', '--tenant', TENANT, '--json'], env);
    await timedCli(['sync', '--tenant', TENANT], env);
    const plans: number[] = [];
    const syncs: number[] = [];
    let planCalls: CallDelta | undefined;
    for (let round = 0; round < CALLS; round++) {
      const before = await emulatorStats(emulator.url);
      plans.push(await timedCli(['plan', '--tenant', TENANT, '--json'], env));
      planCalls = new CallDelta(before, await emulatorStats(emulator.url));
      syncs.push(await timedCli(['sync', '--tenant', TENANT], env));
    }
    const plan = median(plans);
    const sync = median(syncs);
    const describes = planCalls?.calls.DescribeAppInstanceUser ?? 0;
    return {
      title: `CLI plan of a ${USERS.toLocaleString('en-US')}-user tenant with a fresh ledger`,
      notes: [
        `quota scale ${QUOTA_SCALE} (BENCH_QUOTA_SCALE) for the emulator and the CLI alike; the sync bench's population and policy (bench/sync-stack.ts); the Chime emulator (child process), DynamoDB Local and a local EventBridge`,
        `median of ${CALLS} calls each, \`plan --tenant --json\` and \`sync --tenant\` interleaved, after one unmeasured call of each; a process per call; the first sync (${(first / 1000).toFixed(1)} s) filled the ledger`,
        `Chime calls of the last plan: ${planCalls?.describe() ?? 'none'}`,
      ],
      rows: [
        {
          metric: 'chime-lifecycle plan --tenant (fresh ledger)',
          value: Math.round(plan),
          unit: 'ms',
          baseline: { label: 'sync --tenant (steady state)', value: Math.round(sync) },
        },
        { metric: 'plan ÷ steady-state sync', value: plan / sync, unit: '×', goal: { op: '<=', value: 1.2 } },
        {
          metric: 'DescribeAppInstanceUser calls of a plan',
          value: describes,
          unit: 'calls',
          goal: { op: '<=', value: 0 },
        },
      ],
    };
  } finally {
    setup.destroy();
    await eventBridge.close();
    await stopChild(emulator.process);
    await dynamo.close();
    killRunning();
    process.off('exit', killRunning);
  }
}
