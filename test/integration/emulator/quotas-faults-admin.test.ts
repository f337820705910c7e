import {
  type ChimeSDKIdentityClient,
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  DescribeAppInstanceUserCommand,
  ListAppInstanceUsersCommand,
  ServiceFailureException,
  ServiceUnavailableException,
  ThrottledClientException,
} from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ChimeEmulator, startChimeEmulator } from '../../../emulator/index';
import { admin, chimeClient, errorOf } from './helpers';

let emulator: ChimeEmulator;
let client: ChimeSDKIdentityClient;

beforeAll(async () => {
  emulator = await startChimeEmulator({ port: 0 });
  client = chimeClient(emulator.url);
});
afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});

interface Outcome {
  ok: number;
  throttled: number;
  other: number;
  messages: string[];
}

async function burst(
  count: number,
  call: (i: number) => Promise<unknown>,
): Promise<Outcome & { elapsedMs: number }> {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => call(i)));
  const elapsedMs = performance.now() - started;
  const outcome: Outcome = { ok: 0, throttled: 0, other: 0, messages: [] };
  for (const result of results) {
    if (result.status === 'fulfilled') outcome.ok++;
    else if (result.reason instanceof ThrottledClientException) {
      outcome.throttled++;
      outcome.messages.push(result.reason.message);
    } else outcome.other++;
  }
  return { ...outcome, elapsedMs };
}

describe('rate quotas (quotaScale 1)', () => {
  afterEach(async () => {
    await admin(emulator.url, 'POST', 'reset');
  });

  it('throttles a burst of 40 creates against one AppInstance to the 10 rps bucket', async () => {
    const { AppInstanceArn } = await client.send(new CreateAppInstanceCommand({ Name: 'quota' }));
    const result = await burst(40, (i) =>
      client.send(
        new CreateAppInstanceUserCommand({ AppInstanceArn, AppInstanceUserId: `burst${i}`, Name: 'B' }),
      ),
    );
    // Capacity is 10 tokens; at most 10 more per second of burst can have refilled.
    const allowed = 10 + Math.ceil((result.elapsedMs / 1000) * 10);
    expect(result.other).toBe(0);
    expect(result.ok).toBeGreaterThanOrEqual(10);
    expect(result.ok).toBeLessThanOrEqual(allowed);
    expect(result.ok + result.throttled).toBe(40);
    expect(result.messages[0]).toContain('appInstanceUserWrite');
    const stats = await admin<{ calls: Record<string, number>; throttled: Record<string, number> }>(
      emulator.url,
      'GET',
      'stats',
    );
    expect(stats.body.calls.CreateAppInstanceUser).toBe(40);
    expect(stats.body.throttled.CreateAppInstanceUser).toBe(result.throttled);
  });

  it('does not charge throttled calls to other buckets, and enforces the account total', async () => {
    // At quotaScale 0.2: user writes 2 rps, describes 4 rps per AppInstance, account total 10 rps. Slow refill
    // keeps the arithmetic clear of timing noise.
    const scaled = await startChimeEmulator({ port: 0, quotaScale: 0.2 });
    const scaledClient = chimeClient(scaled.url);
    try {
      const seeded = ['a', 'b', 'c'].map((name) =>
        scaled.seed({ appInstanceName: name, users: [{ appInstanceUserId: 'u', name: 'U' }] }),
      );
      const [a, b, c] = seeded as [(typeof seeded)[0], (typeof seeded)[0], (typeof seeded)[0]];
      const creates = await burst(12, (i) =>
        scaledClient.send(
          new CreateAppInstanceUserCommand({
            AppInstanceArn: a.appInstanceArn,
            AppInstanceUserId: `c${i}`,
            Name: 'C',
          }),
        ),
      );
      expect(creates.ok).toBeLessThanOrEqual(3);
      expect(creates.messages[0]).toContain('appInstanceUserWrite');
      // The account bucket (10) still holds 10 - creates.ok tokens only if the throttled creates were free;
      // had they been charged it would be empty and almost every describe would be throttled.
      const describes = await burst(8, (i) =>
        scaledClient.send(
          new DescribeAppInstanceUserCommand({ AppInstanceUserArn: (i % 2 ? a : b).userArns[0] }),
        ),
      );
      expect(describes.ok).toBeGreaterThanOrEqual(Math.min(8, 10 - creates.ok));
      // The account bucket is now (nearly) empty while c's describe bucket is full: the account total throttles.
      const more = await burst(6, () =>
        scaledClient.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: c.userArns[0] })),
      );
      const elapsedSeconds = (creates.elapsedMs + describes.elapsedMs + more.elapsedMs) / 1000;
      const accountBudget = Math.max(0, 10 - creates.ok - describes.ok) + Math.ceil(elapsedSeconds * 2);
      expect(more.ok).toBeLessThanOrEqual(accountBudget);
      if (accountBudget < 6) expect(more.throttled).toBeGreaterThan(0);
      expect(more.messages.every((message) => message.includes('accountTotal'))).toBe(true);
    } finally {
      scaledClient.destroy();
      await scaled.close();
    }
  });

  it('lets the SDK retry through throttling (429 is a retryable throttling error)', async () => {
    const { AppInstanceArn } = await client.send(new CreateAppInstanceCommand({ Name: 'retry' }));
    const retrying = chimeClient(emulator.url, { maxAttempts: 5 });
    try {
      const result = await burst(15, (i) =>
        retrying.send(
          new CreateAppInstanceUserCommand({ AppInstanceArn, AppInstanceUserId: `r${i}`, Name: 'R' }),
        ),
      );
      expect(result.ok).toBe(15);
    } finally {
      retrying.destroy();
    }
  });

  it('scales quotas with quotaScale and disables them with quotas: false', async () => {
    const scaled = await startChimeEmulator({ port: 0, quotaScale: 0.1 });
    const unlimited = await startChimeEmulator({ port: 0, quotas: false });
    const scaledClient = chimeClient(scaled.url);
    const unlimitedClient = chimeClient(unlimited.url);
    try {
      const scaledApp = scaled.seed({ users: [{ appInstanceUserId: 'u', name: 'U' }] });
      const scaledResult = await burst(5, () =>
        scaledClient.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: scaledApp.userArns[0] })),
      );
      expect(scaledResult.ok).toBeLessThanOrEqual(2 + Math.ceil(scaledResult.elapsedMs / 1000) * 2);
      expect(scaledResult.throttled).toBeGreaterThanOrEqual(3 - Math.ceil(scaledResult.elapsedMs / 1000) * 2);

      const unlimitedApp = unlimited.seed({ users: [{ appInstanceUserId: 'u', name: 'U' }] });
      const unlimitedResult = await burst(200, () =>
        unlimitedClient.send(
          new DescribeAppInstanceUserCommand({ AppInstanceUserArn: unlimitedApp.userArns[0] }),
        ),
      );
      expect(unlimitedResult.ok).toBe(200);
    } finally {
      scaledClient.destroy();
      unlimitedClient.destroy();
      await scaled.close();
      await unlimited.close();
    }
  });
});

describe('fault injection', () => {
  afterEach(async () => {
    await admin(emulator.url, 'POST', 'reset');
  });

  it('injects ServiceUnavailable, ServiceFailure and throttling, and counts faults', async () => {
    const { userArns } = emulator.seed({ users: [{ appInstanceUserId: 'f', name: 'F' }] });
    const describe = () =>
      client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: userArns[0] }));

    expect((await admin(emulator.url, 'POST', 'faults', { serviceUnavailableRate: 1 })).status).toBe(200);
    const unavailable = await errorOf(describe());
    expect(unavailable).toBeInstanceOf(ServiceUnavailableException);
    expect(unavailable.$metadata?.httpStatusCode).toBe(503);

    await admin(emulator.url, 'POST', 'faults', { serviceFailureRate: 1 });
    const failure = await errorOf(describe());
    expect(failure).toBeInstanceOf(ServiceFailureException);
    expect(failure.$metadata?.httpStatusCode).toBe(500);

    await admin(emulator.url, 'POST', 'faults', { throttleRate: 1 });
    const throttled = await errorOf(describe());
    expect(throttled).toBeInstanceOf(ThrottledClientException);
    expect(throttled.$metadata?.httpStatusCode).toBe(429);
    expect((throttled as ThrottledClientException).Code).toBe('Throttled');

    const stats = await admin<{ faults: number; throttled: Record<string, number> }>(
      emulator.url,
      'GET',
      'stats',
    );
    expect(stats.body.faults).toBe(3);
    expect(stats.body.throttled.DescribeAppInstanceUser).toBe(1);

    await admin(emulator.url, 'POST', 'faults', {});
    expect((await describe()).AppInstanceUser?.Name).toBe('F');
  });

  it('adds latency', async () => {
    const { userArns } = emulator.seed({ users: [{ appInstanceUserId: 'slow', name: 'S' }] });
    await admin(emulator.url, 'POST', 'faults', { latencyMs: 150 });
    const started = performance.now();
    await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: userArns[0] }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('admin API', () => {
  afterEach(async () => {
    await admin(emulator.url, 'POST', 'reset');
  });

  it('validates fault settings and clock moves with 400s in the error shape', async () => {
    for (const bad of [
      { throttleRate: 2 },
      { serviceFailureRate: -0.1 },
      { latencyMs: 'slow' },
      { chaos: 1 },
    ]) {
      const response = await admin<{ Code: string; Message: string }>(emulator.url, 'POST', 'faults', bad);
      expect(response.status).toBe(400);
      expect(response.headers.get('x-amzn-errortype')).toBe('BadRequestException');
      expect(response.body.Code).toBe('BadRequest');
      expect(response.body.Message).toContain(Object.keys(bad)[0]);
    }
    for (const bad of [
      {},
      { advanceSeconds: -1 },
      { now: 'yesterday' },
      { advanceSeconds: 1, now: '2030-01-01T00:00:00Z' },
    ]) {
      expect((await admin(emulator.url, 'POST', 'clock', bad)).status).toBe(400);
    }
    expect((await admin(emulator.url, 'POST', 'clock', '{oops')).status).toBe(400);
    const unknown = await admin<{ Code: string }>(emulator.url, 'GET', 'nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.body.Code).toBe('NotFound');
  });

  it('seeds with API validation naming the index, and reset clears state, stats and faults', async () => {
    const bad = await admin<{ Message: string }>(emulator.url, 'POST', 'seed', {
      users: [
        { appInstanceUserId: 'ok', name: 'Ok' },
        { appInstanceUserId: 'ok2', name: 'Ok' },
        { appInstanceUserId: 'ok3', name: 'Ok', expirationDays: 9999 },
        { appInstanceUserId: '-bad', name: 'Bad' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.Message).toBe('users[2].expirationDays: must be between 1 and 5475');
    const badId = await admin<{ Message: string }>(emulator.url, 'POST', 'seed', {
      users: [
        { appInstanceUserId: 'ok', name: 'Ok' },
        { appInstanceUserId: '-bad', name: 'Bad' },
      ],
    });
    expect(badId.body.Message).toMatch(/^users\[1\]\.appInstanceUserId: must match pattern/);
    const duplicate = await admin<{ Message: string }>(emulator.url, 'POST', 'seed', {
      users: [
        { appInstanceUserId: 'same', name: 'A' },
        { appInstanceUserId: 'same', name: 'B' },
      ],
    });
    expect(duplicate.status).toBe(400);
    expect((await admin(emulator.url, 'POST', 'seed', { users: 'none' })).status).toBe(400);
    expect(
      (
        await admin(emulator.url, 'POST', 'seed', {
          users: [{ appInstanceUserId: 'a', name: 'A', createdAt: 'soon' }],
        })
      ).status,
    ).toBe(400);

    const createdAtSeconds = Math.floor(Date.now() / 1000) - 3600;
    const seeded = await admin<{ appInstanceArn: string; userArns: string[] }>(emulator.url, 'POST', 'seed', {
      appInstanceName: 'seeded',
      users: [
        {
          appInstanceUserId: 'ok',
          name: 'Ok',
          metadata: 'm',
          createdAt: createdAtSeconds,
          expirationDays: 3,
        },
      ],
    });
    expect(seeded.status).toBe(201);
    const described = await client.send(
      new DescribeAppInstanceUserCommand({ AppInstanceUserArn: seeded.body.userArns[0] }),
    );
    expect(described.AppInstanceUser).toMatchObject({
      Name: 'Ok',
      Metadata: 'm',
      CreatedTimestamp: new Date(createdAtSeconds * 1000),
      ExpirationSettings: { ExpirationDays: 3 },
    });
    // Seeding into an existing AppInstance by ARN adds to it.
    const more = await admin<{ appInstanceArn: string }>(emulator.url, 'POST', 'seed', {
      appInstanceArn: seeded.body.appInstanceArn,
      users: [{ appInstanceUserId: 'more', name: 'More' }],
    });
    expect(more.body.appInstanceArn).toBe(seeded.body.appInstanceArn);
    // An ARN and a name: a missing AppInstance is created under that ARN (a demo's known ARNs), then added to.
    const known = 'arn:aws:chime:us-east-1:111122223333:app-instance/demo-known';
    for (const userId of ['k1', 'k2']) {
      const created = await admin<{ appInstanceArn: string; userArns: string[] }>(
        emulator.url,
        'POST',
        'seed',
        {
          appInstanceArn: known,
          appInstanceName: 'known',
          users: [{ appInstanceUserId: userId, name: 'K' }],
        },
      );
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ appInstanceArn: known, userArns: [`${known}/user/${userId}`] });
    }
    const { AppInstanceUsers } = await client.send(
      new ListAppInstanceUsersCommand({ AppInstanceArn: known }),
    );
    expect(AppInstanceUsers?.map((user) => user.AppInstanceUserArn)).toEqual([
      `${known}/user/k1`,
      `${known}/user/k2`,
    ]);
    // The emulator serves every Region and account: a known ARN of another account and Region is created in
    // that account and Region; one outside the aws partition is refused.
    const elsewhereArn = 'arn:aws:chime:eu-central-1:999999999999:app-instance/demo-known';
    const elsewhere = await admin<{ appInstanceArn: string }>(emulator.url, 'POST', 'seed', {
      appInstanceArn: elsewhereArn,
      appInstanceName: 'elsewhere',
      users: [],
    });
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body.appInstanceArn).toBe(elsewhereArn);
    const outside = await admin<{ Message: string }>(emulator.url, 'POST', 'seed', {
      appInstanceArn: 'arn:aws-cn:chime:cn-north-1:111122223333:app-instance/demo-known',
      appInstanceName: 'outside',
      users: [],
    });
    expect(outside.status).toBe(403);
    expect(outside.body.Message).toContain('outside the aws partition');
    // Without a name, an ARN that does not exist is not created.
    const missing = await admin(emulator.url, 'POST', 'seed', {
      appInstanceArn: 'arn:aws:chime:us-east-1:111122223333:app-instance/never-made',
      users: [],
    });
    expect(missing.status).toBe(404);

    await admin(emulator.url, 'POST', 'faults', { latencyMs: 5 });
    expect((await admin(emulator.url, 'POST', 'reset')).status).toBe(200);
    const stats = await admin(emulator.url, 'GET', 'stats');
    expect(stats.body).toEqual({ calls: {}, throttled: {}, faults: 0 });
    expect((await admin(emulator.url, 'GET', 'faults')).body).toEqual({
      throttleRate: 0,
      serviceFailureRate: 0,
      serviceUnavailableRate: 0,
      latencyMs: 0,
    });
    expect((await admin<{ appInstances: number }>(emulator.url, 'GET', 'health')).body.appInstances).toBe(0);
  });

  it('seeds 100k users quickly including the HTTP round trip', async () => {
    const users = Array.from({ length: 100_000 }, (_, i) => ({
      appInstanceUserId: `user-${i}`,
      name: `User ${i}`,
      metadata: '{"tenant":"t1"}',
      expirationDays: 30,
    }));
    const body = JSON.stringify({ users });
    const started = performance.now();
    const seeded = await admin<{ userArns: string[] }>(emulator.url, 'POST', 'seed', body);
    const elapsedMs = performance.now() - started;
    expect(seeded.status).toBe(201);
    expect(seeded.body.userArns).toHaveLength(100_000);
    // The 2 s goal is measured by bench/emulator.ts on an idle machine. This bound only catches a quadratic load
    // path (per-user sorted inserts take minutes); 8 s proved too tight for a shared 2-core box at load 20,
    // where the same seed took 17 s with the code unchanged.
    expect(elapsedMs).toBeLessThan(60_000);
    const health = await admin<{ users: number }>(emulator.url, 'GET', 'health');
    expect(health.body.users).toBe(100_000);
  }, 120_000);
});
