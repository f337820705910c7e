/** The 100k-user sync in a child process, on its own emulator and DynamoDB Local: its peak RSS. */

import { ensureTables } from '../../shared/aws/tables';
import type { Config } from '../../shared/config';
import type { BenchSection } from '../lib';
import { benchRuntime, putPolicy } from '../sync-stack';
import type { WorkerResult } from '../sync-worker';
import { type Child, runWorker, spawnNode, startEmulator, stopChild, waitForUrl } from './children';
import { CallDelta, emulatorStats, seedTenant } from './emulator-calls';
import { MB, RSS_QUOTA_SCALE, RSS_USERS } from './settings';

export interface RssJob {
  /** Starts the worker; resolves with the section once it is done. */
  run(): Promise<BenchSection>;
  close(): Promise<void>;
}

/**
 * Sets up the 100k-user run on its own emulator and DynamoDB Local (seeded before anything is measured), so
 * that with `background` it can run under `nice` while the foreground is measured: its peak RSS does not
 * depend on its pace, and it takes only CPU the foreground leaves idle.
 */
export async function prepareRss(config: Config, background: boolean): Promise<RssJob> {
  const children: Child[] = [];
  const close = async () => {
    await Promise.all(children.map((child) => stopChild(child.process)));
  };
  try {
    const [dynamo, emulator] = await Promise.all([
      waitForUrl(spawnNode(['--import', 'tsx', 'bench/sync-dynamo.ts'], { background }), 'DynamoDB Local'),
      startEmulator(RSS_QUOTA_SCALE, background),
    ]);
    children.push(dynamo, emulator);
    const rssConfig = { ...config, quotaScale: RSS_QUOTA_SCALE };
    const setup = benchRuntime(rssConfig, { dynamodb: dynamo.url, chime: emulator.url });
    const tenantId = 'big';
    try {
      await ensureTables(setup.dynamo, rssConfig);
      const arn = await seedTenant(emulator.url, 'bench-big', RSS_USERS);
      await putPolicy(setup, tenantId, arn);
    } finally {
      setup.destroy();
    }
    const run = async (): Promise<BenchSection> => {
      const before = await emulatorStats(emulator.url);
      const result = await runWorker(
        { config: rssConfig, endpoints: { dynamodb: dynamo.url, chime: emulator.url }, tenantId },
        background,
      );
      const delta = new CallDelta(before, await emulatorStats(emulator.url));
      if (result.state !== 'completed') throw new Error(`${RSS_USERS}-user sync ended ${result.state}`);
      return rssSection(result, delta, background);
    };
    return { run, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function rssSection(result: WorkerResult, delta: CallDelta, background: boolean): BenchSection {
  return {
    title: `Sync of a ${RSS_USERS.toLocaleString('en-US')}-user tenant in a child process: memory`,
    notes: [
      `quota scale ${RSS_QUOTA_SCALE} (BENCH_RSS_QUOTA_SCALE) for this run only, to keep it short: the sync's memory does not depend on its pace`,
      `the worker (bench/sync-worker.ts, run through tsx like \`npm run bench\`) builds a Runtime and runs syncInProcess against its own emulator and DynamoDB Local; peak = process.resourceUsage().maxRSS, start-up included (sampled peak during the sync ${Math.round(result.sampledPeakRssBytes / MB)} MB)`,
      background
        ? `ran under nice 19 in the background of the measured sections, so its ${result.seconds.toFixed(0)} s say nothing about speed (BENCH_SYNC_RSS_PARALLEL=0 runs it alone, after them)`
        : `ran alone after the other sections: ${result.seconds.toFixed(1)} s`,
      `first sync of the same population mix: ${delta.describe()}, ${result.scanned} users scanned`,
    ],
    rows: [
      {
        metric: 'peak RSS of the sync process',
        value: Math.round(result.maxRssBytes / MB),
        unit: 'MB',
        baseline: {
          label: 'same process before the sync',
          value: Math.round(result.rssBeforeSyncBytes / MB),
        },
        goal: { op: '<=', value: 256 },
      },
      { metric: 'Chime calls per user, first sync', value: delta.total / RSS_USERS, unit: 'calls/user' },
      {
        metric: 'throttled share of calls',
        value: delta.total === 0 ? 0 : (100 * delta.totalThrottled) / delta.total,
        unit: '%',
        goal: { op: '<=', value: 1 },
      },
    ],
  };
}
