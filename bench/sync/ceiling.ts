/**
 * The sync bench's ceiling (issue 24): the same first sync, of the same tenants and population, on this machine
 * in the same run, against an emulator and a Runtime whose quotas are lifted (CEILING_QUOTA_SCALE, far above
 * what two cores carry), through the same DynamoDB Local. Its time is what the machine needs for the work;
 * the scenario's ratio is then against max(quota lower bound, ceiling) and reads "machine-bound" where the
 * quota bound is under twice the ceiling.
 */
import { randomUUID } from 'node:crypto';
import { ensureTables } from '../../shared/aws/tables';
import { benchConfig, benchRuntime, putPolicy } from '../sync-stack';
import { startEmulator, stopChild } from './children';
import { seedTenant, type Tenant } from './emulator-calls';
import { measureSync } from './scenario';
import { CEILING_QUOTA_SCALE } from './settings';

/** Seconds of the first sync of `ids` (each `users` users, synced concurrently) with the quotas lifted. */
export async function firstSyncCeiling(
  dynamodb: string,
  ids: readonly string[],
  users: number,
): Promise<number> {
  const emulator = await startEmulator(CEILING_QUOTA_SCALE);
  const config = benchConfig(`ceil-${randomUUID().slice(0, 8)}`, CEILING_QUOTA_SCALE);
  const runtime = benchRuntime(config, { dynamodb, chime: emulator.url });
  try {
    await ensureTables(runtime.dynamo, config);
    const tenants: Tenant[] = [];
    for (const id of ids) {
      const arn = await seedTenant(emulator.url, `ceiling-${id}`, users);
      await putPolicy(runtime, id, arn);
      tenants.push({ id, arn });
    }
    return (await measureSync(runtime, emulator.url, tenants)).seconds;
  } finally {
    runtime.destroy();
    await stopChild(emulator.process);
  }
}
