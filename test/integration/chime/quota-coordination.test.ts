import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ChimeEmulator } from '../../../emulator/index';
import { QuotaLeases } from '../../../shared/aws/quota-leases';
import { createChimeClient, createChimeQuota } from '../../../shared/chime/client';
import { accountBucketOf, DEFAULT_CHIME_QUOTAS } from '../../../shared/chime/quotas';
import { ChimeUsers } from '../../../shared/chime/users';
import { dynamoDbUrl } from '../../support/context';
import { testRuntime } from '../../support/stack';
import { startEmulatorForSdk } from './support';

const ROOT = path.join(import.meta.dirname, '..', '..', '..');
const SCALE = 2; // account: 100 rps, describes: 40 rps per AppInstance
const LEASE_MS = 3_000;
const HEARTBEAT_MS = LEASE_MS / 3;

let emulator: ChimeEmulator | undefined;
const children = new Set<ChildProcess>();

afterEach(async () => {
  for (const child of children) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  await emulator?.close();
  emulator = undefined;
});
afterAll(() => {
  vi.unstubAllEnvs();
});

interface HolderLine {
  holderId: string;
  account?: number;
  calls: number;
}

/** Starts quota-holder-process.ts and yields its status lines. */
function startHolder(env: Record<string, string>) {
  const child = spawn('npx', ['tsx', path.join('test', 'integration', 'chime', 'quota-holder-process.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group: npx and tsx start the script in a grandchild, and SIGKILL must reach it.
    detached: true,
  });
  children.add(child);
  let last: HolderLine | undefined;
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    if (line.startsWith('{')) last = JSON.parse(line) as HolderLine;
  });
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return { child, last: () => last, kill };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('quota coordination between processes (DynamoDB Local, Chime emulator)', () => {
  it('shares a bucket between two working processes and gives the survivor the quota back within the TTL of a SIGKILL', async () => {
    emulator = await startEmulatorForSdk({ quotaScale: SCALE });
    const { appInstanceArn } = emulator.seed({
      users: Array.from({ length: 50 }, (_, index) => ({
        appInstanceUserId: `u${index}`,
        name: `User ${index}`,
      })),
    });
    const arns = Array.from({ length: 50 }, (_, index) => `${appInstanceArn}/user/u${index}`);
    const runtime = await testRuntime();
    const stateTable = runtime.config.stateTable;
    const leases = new QuotaLeases(runtime.documents, stateTable);
    const accountQuota = DEFAULT_CHIME_QUOTAS.account * SCALE;
    const describeKey = `describe-user:${appInstanceArn}`;
    // The account bucket of the AppInstance's account and Region (quotas are per account and Region).
    const accountKey = accountBucketOf(describeKey);
    const describeQuota = DEFAULT_CHIME_QUOTAS['describe-user'] * SCALE;

    // The survivor: this process, working through the product's coordinated limiter.
    const quota = createChimeQuota({
      quotaScale: SCALE,
      accountQuotaShare: 1,
      fallbackShare: 0.1,
      leaseTtlMs: LEASE_MS,
      leases,
    });
    const users = new ChimeUsers(createChimeClient({ limiter: quota.callLimiter }));
    let working = true;
    const work = Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let index = worker; working; index = (index + 8) % arns.length) {
          await users.describe(arns[index] as string);
        }
      }),
    );
    const rate = (key: string) => quota.limiter.configuredRates().get(key);
    await until(
      'the survivor to hold the whole quota',
      () => (rate(accountKey) === accountQuota ? true : undefined),
      10_000,
    );

    const victim = startHolder({
      DYNAMODB_URL: dynamoDbUrl(),
      STATE_TABLE: stateTable,
      QUOTA_SCALE: String(SCALE),
      LEASE_MS: String(LEASE_MS),
      USER_ARNS: arns.join(','),
    });
    // Both see each other: half of the account and of the AppInstance's describe quota each.
    const working2 = await until(
      'the second process to work at half the quota',
      () => {
        const line = victim.last();
        return line && line.calls > 20 && line.account === accountQuota / 2 ? line : undefined;
      },
      60_000,
    );
    await until(
      'the survivor to halve its share',
      () => (rate(accountKey) === accountQuota / 2 ? true : undefined),
      3 * HEARTBEAT_MS + 2_000,
    );
    expect(rate(describeKey)).toBe(describeQuota / 2);
    const stored = await leases.read();
    expect(stored.leases.map((lease) => lease.holderId)).toContain(working2.holderId);

    victim.kill();
    const killedAt = Date.now();
    await new Promise((resolve) => victim.child.once('exit', resolve));
    const recovered = await until(
      'the survivor to get the whole quota back',
      () => (rate(accountKey) === accountQuota ? Date.now() : undefined),
      LEASE_MS + 10_000,
    );
    // Its lease was renewed at most one heartbeat before the kill, so it counts at most one lease lifetime
    // after it; the survivor sees that at its next heartbeat. Slack for a loaded 2-core machine on top (late
    // timers, a slow DynamoDB Local), still well short of a second lease lifetime.
    expect(recovered - killedAt).toBeLessThanOrEqual(LEASE_MS + HEARTBEAT_MS + 2_500);
    expect(rate(describeKey)).toBe(describeQuota);
    // The dead process never released: its lease is still stored, just expired.
    const after = await leases.read();
    const dead = after.leases.find((lease) => lease.holderId === working2.holderId);
    expect(dead?.expiresAtMs).toBeLessThanOrEqual(Date.now());

    working = false;
    await work;
    await quota.coordinator?.release();
    expect((await leases.read()).leases.map((lease) => lease.holderId)).not.toContain(
      quota.coordinator?.holderId,
    );
    runtime.destroy();
  });

  it('falls back to the static share, never to the whole quota, when the lease table cannot be reached', async () => {
    emulator = await startEmulatorForSdk({ quotaScale: SCALE });
    const { appInstanceArn } = emulator.seed({ users: [{ appInstanceUserId: 'u0', name: 'User 0' }] });
    const runtime = await testRuntime();
    const errors: unknown[] = [];
    const quota = createChimeQuota({
      quotaScale: SCALE,
      accountQuotaShare: 1,
      fallbackShare: 0.1,
      leaseTtlMs: LEASE_MS,
      leases: new QuotaLeases(runtime.documents, 'no-such-table'),
      coordinator: { onError: (error) => errors.push(error) },
    });
    const users = new ChimeUsers(createChimeClient({ limiter: quota.callLimiter }));
    await users.describe(`${appInstanceArn}/user/u0`);
    expect(
      quota.limiter.configuredRates().get(accountBucketOf(`describe-user:${appInstanceArn}`)),
    ).toBeCloseTo(DEFAULT_CHIME_QUOTAS.account * SCALE * 0.1);
    expect(quota.coordinator?.stats().degraded).toBe(true);
    expect(String(errors[0])).toMatch(/ResourceNotFound|non-existent table/i);
    quota.coordinator?.stop();
    runtime.destroy();
  });
});
