/**
 * Sync benchmark (issue 4): the scheduled policy sync (pull mode, the same use case as the Lambda) against the
 * Chime emulator at AWS's quota ratios, scaled by BENCH_QUOTA_SCALE, and DynamoDB Local. For one 10k-user
 * tenant and for 3 tenants synced concurrently through one Runtime (one shared limiter), it measures Chime
 * calls per user on the first and on a steady-state sync, first-sync wall time against the quota lower bound
 * of the calls it made, the throttled share, and the same steady-state work done the naive way (list, then
 * Describe and Put every user with a plain SDK client and its default retries). A 100k-user tenant is then
 * synced in a child process for its peak RSS.
 *
 * The emulator runs as a child process (the CLI, as a user runs it), so its CPU and memory are not the
 * sync's; the emulator's own call counters are the authoritative call and throttle counts. Two tenants in two
 * Regions syncing at once (regions.ts) run against their own emulator at their own scale.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb-local';
import { ensureTables } from '../../shared/aws/tables';
import type { Runtime } from '../../shared/composition-root';
import type { BenchSection } from '../lib';
import {
  benchConfig,
  benchRuntime,
  mixSummary,
  POPULATION_MIX,
  putPolicy,
  useDummyCredentials,
} from '../sync-stack';
import { firstSyncCeiling } from './ceiling';
import { type Child, killRunning, startEmulator, stopChild } from './children';
import { seedTenant, type Tenant } from './emulator-calls';
import { regionsScenario } from './regions';
import { prepareRss, type RssJob } from './rss';
import { syncScenario } from './scenario';
import { QUOTA_SCALE, RSS_PARALLEL, SCENARIOS, TENANTS, USERS } from './settings';

function populationNote(users: number): string {
  const mix = mixSummary();
  const slices = POPULATION_MIX.map((slice) => `${slice.percent}% ${slice.label}`).join('; ');
  return (
    `population per tenant (${users.toLocaleString('en-US')} users, slices interleaved by index): ${slices}. ` +
    `The first sync describes ${mix.describedPercent}% of users and writes ${mix.scanWritePercent + mix.applyWritePercent}% ` +
    `(${mix.scanWritePercent}% lengthening or removing, ${mix.applyWritePercent}% shortening; with these safety caps no run can be held, so all are written during the scan); ` +
    'policy: guests 7 d, trial 30 d, staff never, svc- unmanaged, default 365 d, safety caps generous so nothing is held'
  );
}

export async function run(): Promise<BenchSection[]> {
  useDummyCredentials();
  process.once('exit', killRunning);
  const machine = `${os.cpus().length} cores, load average ${os.loadavg()[0]?.toFixed(1)} at start; the emulator and DynamoDB Local (Java) run on the same cores as the sync`;
  const config = benchConfig(`bench-${randomUUID().slice(0, 8)}`, QUOTA_SCALE);
  let dynamo: DynamoDbLocal | undefined;
  let emulator: Child | undefined;
  let setup: Runtime | undefined;
  let rss: RssJob | undefined;
  try {
    let rssSectionPromise: Promise<BenchSection> | undefined;
    if (SCENARIOS.has('rss') && RSS_PARALLEL) {
      rss = await prepareRss(config, true);
      rssSectionPromise = rss.run();
      // Reported once awaited below; until then a failure must not be an unhandled rejection.
      rssSectionPromise.catch(() => {});
    }
    dynamo = await startDynamoDbLocal();
    emulator = await startEmulator(QUOTA_SCALE);
    setup = benchRuntime(config, { dynamodb: dynamo.url, chime: emulator.url });
    await ensureTables(setup.dynamo, config);
    const seedAll = async (ids: readonly string[]) => {
      const tenants: Tenant[] = [];
      for (const id of ids) {
        const arn = await seedTenant((emulator as Child).url, `bench-${id}`, USERS);
        await putPolicy(setup as Runtime, id, arn);
        tenants.push({ id, arn });
      }
      return tenants;
    };
    const sections: BenchSection[] = [];
    if (SCENARIOS.has('one')) {
      const ceiling = await firstSyncCeiling(dynamo.url, ['solo'], USERS);
      const solo = await seedAll(['solo']);
      const title = `Sync of one ${USERS.toLocaleString('en-US')}-user tenant`;
      const one = await syncScenario(title, emulator.url, config, dynamo.url, solo, USERS, ceiling);
      sections.push({ ...one, notes: [...(one.notes ?? []), populationNote(USERS), machine] });
    }
    if (SCENARIOS.has('three')) {
      const ids = ['trio-a', 'trio-b', 'trio-c'].slice(0, TENANTS);
      const ceiling = await firstSyncCeiling(dynamo.url, ids, USERS);
      const trio = await seedAll(ids);
      const title = `Sync of ${TENANTS} tenants × ${USERS.toLocaleString('en-US')} users, concurrently`;
      sections.push(await syncScenario(title, emulator.url, config, dynamo.url, trio, USERS, ceiling));
    }
    await stopChild(emulator.process);
    if (SCENARIOS.has('regions')) sections.push(await regionsScenario(dynamo.url));
    await dynamo.close();
    dynamo = undefined;
    if (SCENARIOS.has('rss')) {
      if (!rssSectionPromise) {
        rss = await prepareRss(config, false);
        rssSectionPromise = rss.run();
      }
      sections.push(await rssSectionPromise);
    }
    return sections;
  } finally {
    setup?.destroy();
    if (emulator) await stopChild(emulator.process);
    await dynamo?.close();
    await rss?.close();
    killRunning();
    process.off('exit', killRunning);
  }
}
