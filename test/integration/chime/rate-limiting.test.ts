import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ChimeEmulator } from '../../../emulator/index';
import { ChimeAttemptCounter, createChimeClient, createChimeRateLimiter } from '../../../shared/chime/client';
import { ChimeUsers } from '../../../shared/chime/users';
import { emulatorStats, startEmulatorForSdk, sum } from './support';

let emulator: ChimeEmulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});
afterAll(() => {
  vi.unstubAllEnvs();
});

function seedUsers(target: ChimeEmulator, count: number) {
  return target.seed({
    users: Array.from({ length: count }, (_, index) => ({
      appInstanceUserId: `u${index}`,
      name: `User ${index}`,
    })),
  });
}

describe('client-side rate limiting against the emulator quotas', () => {
  it('keeps a burst of creates, puts and describes under the quotas, paced at the quota rate', async () => {
    const scale = 5; // user writes: 50 rps, describes: 100 rps, account: 250 rps
    emulator = await startEmulatorForSdk({ quotaScale: scale });
    const { appInstanceArn } = seedUsers(emulator, 0);
    const limiter = createChimeRateLimiter({ quotaScale: scale, accountQuotaShare: 1 });
    const client = createChimeClient({ limiter });
    const users = new ChimeUsers(client);
    const count = 150;
    const ids = Array.from({ length: count }, (_, index) => `burst-${index}`);

    const writesStartedAt = performance.now();
    const arns = await Promise.all(
      ids.map((id) =>
        users.create({ appInstanceArn, appInstanceUserId: id, name: id, clientRequestToken: `token-${id}` }),
      ),
    );
    await Promise.all(arns.map((arn, index) => users.putExpiration(arn, 1 + (index % 100))));
    const writesSeconds = (performance.now() - writesStartedAt) / 1000;
    const described = await Promise.all(arns.map((arn) => users.describe(arn)));

    expect(described.every((user) => user !== null)).toBe(true);
    const stats = await emulatorStats(emulator);
    expect(stats.calls.CreateAppInstanceUser).toBeGreaterThanOrEqual(count);
    expect(sum(stats.throttled)).toBeLessThanOrEqual(3);
    // 300 writes share one 50 rps bucket: at least ~6 s. A generous lower bound proves that limiting happened.
    const writeRate = 10 * scale;
    expect(writesSeconds).toBeGreaterThanOrEqual(0.8 * ((2 * count) / writeRate));
    client.destroy();
  });

  it('converges when configured above the real quota: few throttles, every call succeeds', async () => {
    const emulatorScale = 3; // user writes: 30 rps
    emulator = await startEmulatorForSdk({ quotaScale: emulatorScale });
    const count = 360;
    const { userArns } = seedUsers(emulator, count);
    // The limiter believes the quota is 4x higher than it is.
    const limiter = createChimeRateLimiter({ quotaScale: 4 * emulatorScale, accountQuotaShare: 1 });
    const counter = new ChimeAttemptCounter();
    const outcomes: string[] = [];
    const client = createChimeClient({
      limiter,
      observer: (attempt) => {
        counter.observe(attempt);
        outcomes.push(attempt.outcome);
      },
    });
    const users = new ChimeUsers(client);

    const results = await Promise.allSettled(userArns.map((arn) => users.putExpiration(arn, 7)));

    const failures = results.filter((result) => result.status === 'rejected');
    expect(failures).toEqual([]);
    const stats = await emulatorStats(emulator);
    const attempts = stats.calls.PutAppInstanceUserExpirationSettings ?? 0;
    const throttled = stats.throttled.PutAppInstanceUserExpirationSettings ?? 0;
    expect(attempts).toBe(count + throttled);
    expect(counter.total().throttled).toBe(throttled);
    // Converging from 4x too high costs a burst of 429s at the start; after that the limiter must sit
    // just under the quota. Judge the second half of the attempts separately from the whole run.
    const laterHalf = outcomes.slice(Math.floor(outcomes.length / 2));
    const laterThrottled = laterHalf.filter((outcome) => outcome === 'throttled').length;
    const writes = limiter.stats().buckets.find((bucket) => bucket.key.startsWith('user-writes:'));
    console.info(
      `adaptive run: ${throttled}/${attempts} attempts throttled (${((100 * throttled) / attempts).toFixed(1)}%),` +
        ` second half ${laterThrottled}/${laterHalf.length};` +
        ` user-writes rate ended at ${writes?.effectiveRate.toFixed(1)} rps (quota ${10 * emulatorScale});` +
        ` cuts undone as foreign ${writes?.cutsUndone}, foreign share ${writes?.foreignThrottleShare.toFixed(2)}`,
    );
    expect(throttled / attempts).toBeLessThan(0.4);
    expect(laterThrottled / laterHalf.length).toBeLessThan(0.05);
    expect(writes?.effectiveRate).toBeLessThan(10 * 4 * emulatorScale * 0.5);
    client.destroy();
  });
});
