/**
 * Child process of the sync benchmark: syncs one tenant in pull mode and reports its own memory, so the peak
 * RSS is the sync's alone (the emulator, DynamoDB Local and the benchmark's bookkeeping live in other
 * processes). Input: the JSON in BENCH_SYNC_WORKER; output: one `RESULT {json}` line on stdout.
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../shared/config';
import { syncInProcess } from '../shared/sync/pull-mode';
import { benchRuntime, syncDeps, useDummyCredentials } from './sync-stack';

export interface WorkerInput {
  readonly config: Config;
  readonly endpoints: { readonly dynamodb: string; readonly chime: string };
  readonly tenantId: string;
}

export interface WorkerResult {
  /** process.resourceUsage().maxRSS: the high-water mark of the whole process life, start-up included. */
  readonly maxRssBytes: number;
  /** Highest RSS sampled every 20 ms during the sync. */
  readonly sampledPeakRssBytes: number;
  /** RSS after the Runtime is built and warmed up (one policy read), right before the sync. */
  readonly rssBeforeSyncBytes: number;
  readonly seconds: number;
  readonly state: string | undefined;
  readonly scanned: number | undefined;
  readonly chimeCalls: number | undefined;
}

async function main(): Promise<void> {
  const raw = process.env.BENCH_SYNC_WORKER;
  if (!raw) throw new Error('BENCH_SYNC_WORKER is not set');
  const input = JSON.parse(raw) as WorkerInput;
  useDummyCredentials();
  const runtime = benchRuntime(input.config, input.endpoints);
  try {
    // Loads the DynamoDB client and the policy code paths before the baseline reading.
    await runtime.policyStore.get(input.tenantId);
    const rssBeforeSyncBytes = process.memoryUsage.rss();
    let sampledPeakRssBytes = rssBeforeSyncBytes;
    const sampler = setInterval(() => {
      sampledPeakRssBytes = Math.max(sampledPeakRssBytes, process.memoryUsage.rss());
    }, 20);
    const started = performance.now();
    const [result] = await syncInProcess([input.tenantId], (queue) => syncDeps(runtime, queue));
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    sampledPeakRssBytes = Math.max(sampledPeakRssBytes, process.memoryUsage.rss());
    const output: WorkerResult = {
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      sampledPeakRssBytes,
      rssBeforeSyncBytes,
      seconds,
      state: result?.run?.state,
      scanned: result?.run?.counters.scanned,
      chimeCalls: result?.run?.counters.chimeCalls,
    };
    process.stdout.write(`RESULT ${JSON.stringify(output)}\n`);
  } finally {
    runtime.destroy();
  }
}

await main();
