import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChimeEmulator } from '../../../emulator/index';
import { ChimeAttemptCounter, createChimeClient, createChimeRateLimiter } from '../../../shared/chime/client';
import { THROTTLED_ATTEMPTS_FACTOR } from '../../../shared/chime/retry-strategy';
import { ChimeUsers } from '../../../shared/chime/users';
import { emulatorStats, startEmulatorForSdk, sum } from './support';

let emulator: ChimeEmulator;

beforeAll(async () => {
  emulator = await startEmulatorForSdk({ quotaScale: 20 });
});
afterAll(async () => {
  await emulator.close();
  vi.unstubAllEnvs();
});
beforeEach(() => {
  emulator.reset();
});

function adapter(maxAttempts?: number) {
  const limiter = createChimeRateLimiter({ quotaScale: 20, accountQuotaShare: 1 });
  const counter = new ChimeAttemptCounter();
  const client = createChimeClient({
    limiter,
    observer: counter.observe,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
  return { users: new ChimeUsers(client), client, limiter, counter };
}

const seedUsers = (count: number) =>
  emulator.seed({
    users: Array.from({ length: count }, (_, index) => ({
      appInstanceUserId: `user-${String(index).padStart(4, '0')}`,
      name: `User ${index}`,
      metadata: `{"i":${index}}`,
    })),
  });

describe('ChimeUsers against the emulator', () => {
  it('lists 120 users in pages of 50 and resumes from a saved token', async () => {
    const { appInstanceArn } = seedUsers(120);
    const { users, client } = adapter();
    const pages = [];
    for await (const page of users.listPages(appInstanceArn)) pages.push(page);
    expect(pages.map((page) => page.users.length)).toEqual([50, 50, 20]);
    expect(pages[2]?.nextToken).toBeUndefined();
    const ids = pages.flatMap((page) => page.users.map((user) => user.appInstanceUserId));
    expect(new Set(ids).size).toBe(120);
    expect(ids).toContain('user-0119');
    const first = pages[0]?.users[0];
    expect(first?.arn).toBe(users.userArn(appInstanceArn, first?.appInstanceUserId ?? ''));
    expect(first?.name).toMatch(/^User \d+$/);

    const savedToken = pages[0]?.nextToken;
    expect(savedToken).toBeTypeOf('string');
    const resumed = [];
    for await (const page of users.listPages(
      appInstanceArn,
      savedToken === undefined ? {} : { startToken: savedToken },
    )) {
      resumed.push(page);
    }
    expect(resumed.map((page) => page.users.length)).toEqual([50, 20]);
    expect(resumed.flatMap((page) => page.users.map((user) => user.appInstanceUserId))).toEqual(
      ids.slice(50),
    );
    client.destroy();
  });

  it('creates, describes, updates, sets and removes expiration', async () => {
    const { appInstanceArn } = seedUsers(0);
    const { users, client } = adapter();
    const before = emulator.now().getTime();
    const arn = await users.create({
      appInstanceArn,
      appInstanceUserId: 'alice',
      name: 'Alice',
      metadata: 'm1',
      tags: { tenant: 't1' },
      expirationDays: 30,
      clientRequestToken: randomUUID(),
    });
    expect(arn).toBe(users.userArn(appInstanceArn, 'alice'));
    const created = await users.describe(arn);
    expect(created).toMatchObject({
      arn,
      appInstanceUserId: 'alice',
      name: 'Alice',
      metadata: 'm1',
      expirationDays: 30,
    });
    expect(created?.createdAt).toBeGreaterThanOrEqual(before - 1_000);

    await users.update(arn, { name: 'Alice B', metadata: '' });
    await users.putExpiration(arn, 90);
    expect(await users.describe(arn)).toMatchObject({ name: 'Alice B', metadata: '', expirationDays: 90 });

    await users.putExpiration(arn, null);
    const cleared = await users.describe(arn);
    expect(cleared).not.toBeNull();
    expect(cleared?.expirationDays).toBeUndefined();
    client.destroy();
  });

  it('describes a deleted user as null', async () => {
    const { userArns } = seedUsers(2);
    const { users, client } = adapter();
    const [gone, kept] = userArns as [string, string];
    await users.delete(gone);
    expect(await users.describe(gone)).toBeNull();
    expect(await users.describe(kept)).not.toBeNull();
    client.destroy();
  });

  it('takes rate tokens on every attempt, retries included', async () => {
    const { userArns } = seedUsers(1);
    const { users, client, limiter, counter } = adapter(5);
    emulator.setFaults({ throttleRate: 1 });
    const error = await users.describe(userArns[0] as string).catch((caught: unknown) => caught);
    // Throttled calls get twice maxAttempts: each attempt waits for the limiter's tokens.
    const attempts = 5 * THROTTLED_ATTEMPTS_FACTOR;
    expect((error as { name?: string }).name).toBe('ThrottledClientException');
    expect((error as { $metadata?: { attempts?: number } }).$metadata?.attempts).toBe(attempts);
    const stats = await emulatorStats(emulator);
    expect(stats.calls.DescribeAppInstanceUser).toBe(attempts);
    expect(limiter.stats().acquired).toBe(attempts);
    expect(limiter.stats().throttles).toBe(attempts);
    expect(counter.snapshot().DescribeAppInstanceUser).toEqual({ attempts, throttled: attempts, errors: 0 });
    expect(sum(stats.throttled)).toBe(attempts);
    client.destroy();
  });

  it('recovers from transient service failures through retries', async () => {
    const { userArns } = seedUsers(40);
    const { users, client, counter } = adapter(5);
    // 15% of attempts fail with 503; a call fails only if all 5 attempts do (0.15^5 per call).
    emulator.setFaults({ serviceUnavailableRate: 0.15 });
    const described = await Promise.all(userArns.map((arn) => users.describe(arn)));
    expect(described.every((user) => user !== null)).toBe(true);
    const stats = await emulatorStats(emulator);
    expect(counter.total()).toEqual({ attempts: 40 + stats.faults, throttled: 0, errors: stats.faults });
    client.destroy();
  });
});
