import {
  BadRequestException,
  type ChimeSDKIdentityClient,
  CreateAppInstanceUserCommand,
  DeleteAppInstanceUserCommand,
  DescribeAppInstanceUserCommand,
  ListAppInstancesCommand,
  ListAppInstanceUsersCommand,
  NotFoundException,
  PutAppInstanceUserExpirationSettingsCommand,
  paginateListAppInstanceUsers,
  UpdateAppInstanceUserCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ChimeEmulator, startChimeEmulator } from '../../../emulator/index';
import { admin, chimeClient, errorOf } from './helpers';

const DAY = 86_400;
const DELAY = 6 * 3600;

let emulator: ChimeEmulator;
let client: ChimeSDKIdentityClient;

beforeAll(async () => {
  emulator = await startChimeEmulator({ port: 0, quotas: false, expiryDelaySeconds: DELAY });
  client = chimeClient(emulator.url);
});
afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});
beforeEach(async () => {
  expect((await admin(emulator.url, 'POST', 'reset')).status).toBe(200);
});

const expiration = (days: number) => ({
  ExpirationDays: days,
  ExpirationCriterion: 'CREATED_TIMESTAMP' as const,
});

async function userIds(appInstanceArn: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of paginateListAppInstanceUsers(
    { client, pageSize: 50 },
    { AppInstanceArn: appInstanceArn },
  )) {
    for (const user of page.AppInstanceUsers ?? [])
      ids.push((user.AppInstanceUserArn ?? '').split('/user/')[1] ?? '');
  }
  return ids;
}

describe('expiry sweeper', () => {
  it('keeps an expired user visible until expiry + delay, honours rescue settings, then deletes', async () => {
    const seeded = await admin<{ appInstanceArn: string; userArns: string[] }>(emulator.url, 'POST', 'seed', {
      users: [
        { appInstanceUserId: 'doomed', name: 'Doomed' },
        { appInstanceUserId: 'rescued', name: 'Rescued' },
        { appInstanceUserId: 'forever', name: 'Forever' },
      ],
    });
    expect(seeded.status).toBe(201);
    const { appInstanceArn, userArns } = seeded.body;
    const [doomed, rescued, forever] = userArns as [string, string, string];
    for (const arn of [doomed, rescued]) {
      await client.send(
        new PutAppInstanceUserExpirationSettingsCommand({
          AppInstanceUserArn: arn,
          ExpirationSettings: expiration(1),
        }),
      );
    }

    // One day and a minute later both have expired, but the 6 h deletion delay has not passed.
    const moved = await admin<{ now: string; swept: number }>(emulator.url, 'POST', 'clock', {
      advanceSeconds: DAY + 60,
    });
    expect(moved.status).toBe(200);
    expect(moved.body.swept).toBe(0);
    expect(Date.parse(moved.body.now) - Date.now()).toBeGreaterThan((DAY - 5) * 1000);
    const stillThere = await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: doomed }));
    expect(stillThere.AppInstanceUser?.ExpirationSettings?.ExpirationDays).toBe(1);
    expect(await userIds(appInstanceArn)).toEqual(['doomed', 'forever', 'rescued']);
    // Expired-but-not-swept users can still be changed, and the new settings are honoured.
    await client.send(
      new UpdateAppInstanceUserCommand({ AppInstanceUserArn: doomed, Name: 'Still doomed', Metadata: '' }),
    );
    await client.send(
      new PutAppInstanceUserExpirationSettingsCommand({
        AppInstanceUserArn: rescued,
        ExpirationSettings: expiration(30),
      }),
    );

    const swept = await admin<{ swept: number }>(emulator.url, 'POST', 'clock', { advanceSeconds: DELAY });
    expect(swept.body.swept).toBe(1);
    expect(
      await errorOf(client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: doomed }))),
    ).toBeInstanceOf(NotFoundException);
    expect(await userIds(appInstanceArn)).toEqual(['forever', 'rescued']);
    const survivor = await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: rescued }));
    expect(survivor.AppInstanceUser?.ExpirationSettings?.ExpirationDays).toBe(30);
    await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: forever }));
  });

  it('measures ExpirationDays from CreatedTimestamp, not from when the setting was changed', async () => {
    const { body } = await admin<{ userArns: string[] }>(emulator.url, 'POST', 'seed', {
      users: [
        {
          appInstanceUserId: 'old',
          name: 'Old',
          createdAt: new Date(Date.now() - 3 * DAY * 1000).toISOString(),
        },
      ],
    });
    const arn = body.userArns[0] as string;
    // Created three days ago, so one day of expiry is already 2 days (> 6 h) in the past: deleted at once.
    await client.send(
      new PutAppInstanceUserExpirationSettingsCommand({
        AppInstanceUserArn: arn,
        ExpirationSettings: expiration(1),
      }),
    );
    expect((await admin<{ swept: number }>(emulator.url, 'POST', 'sweep')).body.swept).toBe(1);
    expect(
      await errorOf(client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }))),
    ).toBeInstanceOf(NotFoundException);
  });

  it('removing the expiration keeps an expired user alive', async () => {
    const { body } = await admin<{ userArns: string[] }>(emulator.url, 'POST', 'seed', {
      users: [{ appInstanceUserId: 'kept', name: 'Kept', expirationDays: 2 }],
    });
    const arn = body.userArns[0] as string;
    await admin(emulator.url, 'POST', 'clock', { advanceSeconds: 2 * DAY + 1 });
    await client.send(new PutAppInstanceUserExpirationSettingsCommand({ AppInstanceUserArn: arn }));
    await admin(emulator.url, 'POST', 'clock', { advanceSeconds: 365 * DAY });
    const user = await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }));
    expect(user.AppInstanceUser).not.toHaveProperty('ExpirationSettings');
  });

  it('also sweeps periodically on real time', async () => {
    const periodic = await startChimeEmulator({
      port: 0,
      quotas: false,
      expiryDelaySeconds: 0,
      sweepIntervalMs: 50,
    });
    try {
      periodic.seed({
        users: [
          {
            appInstanceUserId: 'past',
            name: 'Past',
            expirationDays: 1,
            createdAt: (Date.now() - 2 * DAY * 1000) / 1000,
          },
          { appInstanceUserId: 'present', name: 'Present', expirationDays: 1 },
        ],
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const health = await admin<{ users: number }>(periodic.url, 'GET', 'health');
      expect(health.body.users).toBe(1);
    } finally {
      await periodic.close();
    }
  });

  it('moves the clock to an absolute time and reports it', async () => {
    const target = '2031-01-01T00:00:00.000Z';
    const set = await admin<{ now: string }>(emulator.url, 'POST', 'clock', { now: target });
    expect(Date.parse(set.body.now) - Date.parse(target)).toBeLessThan(2000);
    const read = await admin<{ now: string; epochSeconds: number }>(emulator.url, 'GET', 'clock');
    expect(read.body.epochSeconds * 1000 - Date.parse(target)).toBeLessThan(2000);
    await admin(emulator.url, 'POST', 'reset');
    const back = await admin<{ epochSeconds: number }>(emulator.url, 'GET', 'clock');
    expect(Math.abs(back.body.epochSeconds * 1000 - Date.now())).toBeLessThan(2000);
  });
});

describe('pagination', () => {
  it('pages through users in ascending id order with paginateListAppInstanceUsers', async () => {
    const ids = Array.from({ length: 123 }, (_, i) => `user${String(i).padStart(4, '0')}`);
    const { body } = await admin<{ appInstanceArn: string }>(emulator.url, 'POST', 'seed', {
      users: [...ids].reverse().map((id) => ({ appInstanceUserId: id, name: id })),
    });
    const pages: number[] = [];
    const seen: string[] = [];
    for await (const page of paginateListAppInstanceUsers(
      { client, pageSize: 50 },
      { AppInstanceArn: body.appInstanceArn },
    )) {
      pages.push(page.AppInstanceUsers?.length ?? 0);
      for (const user of page.AppInstanceUsers ?? []) seen.push(user.Name ?? '');
    }
    expect(pages).toEqual([50, 50, 23]);
    expect(seen).toEqual(ids);
  });

  it('is stable under inserts and deletes between pages', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `u${i}`);
    const { body } = await admin<{ appInstanceArn: string; userArns: string[] }>(
      emulator.url,
      'POST',
      'seed',
      {
        users: ids.map((id) => ({ appInstanceUserId: id, name: id })),
      },
    );
    const first = await client.send(
      new ListAppInstanceUsersCommand({ AppInstanceArn: body.appInstanceArn, MaxResults: 4 }),
    );
    expect(first.AppInstanceUsers?.map((user) => user.Name)).toEqual(['u0', 'u1', 'u2', 'u3']);
    // Delete the last user already seen and one not yet seen; insert one before and one after the cursor.
    await client.send(
      new DeleteAppInstanceUserCommand({ AppInstanceUserArn: `${body.appInstanceArn}/user/u3` }),
    );
    await client.send(
      new DeleteAppInstanceUserCommand({ AppInstanceUserArn: `${body.appInstanceArn}/user/u5` }),
    );
    for (const id of ['u0a', 'u4a']) {
      await client.send(
        new CreateAppInstanceUserCommand({
          AppInstanceArn: body.appInstanceArn,
          AppInstanceUserId: id,
          Name: id,
        }),
      );
    }
    const rest = await client.send(
      new ListAppInstanceUsersCommand({
        AppInstanceArn: body.appInstanceArn,
        MaxResults: 50,
        NextToken: first.NextToken,
      }),
    );
    expect(rest.AppInstanceUsers?.map((user) => user.Name)).toEqual(['u4', 'u4a', 'u6', 'u7', 'u8', 'u9']);
    expect(rest.NextToken).toBeUndefined();
  });

  it('rejects garbled NextTokens and tokens from another list with BadRequest', async () => {
    const { body } = await admin<{ appInstanceArn: string }>(emulator.url, 'POST', 'seed', {
      users: [1, 2, 3].map((i) => ({ appInstanceUserId: `p${i}`, name: `p${i}` })),
    });
    const other = await admin<{ appInstanceArn: string }>(emulator.url, 'POST', 'seed', { users: [] });
    const page = await client.send(
      new ListAppInstanceUsersCommand({ AppInstanceArn: body.appInstanceArn, MaxResults: 1 }),
    );
    expect(page.NextToken).toBeTypeOf('string');
    const garbled = await errorOf(
      client.send(
        new ListAppInstanceUsersCommand({ AppInstanceArn: body.appInstanceArn, NextToken: 'not-a-token' }),
      ),
    );
    expect(garbled).toBeInstanceOf(BadRequestException);
    expect(garbled.message).toContain('NextToken');
    const foreign = await errorOf(
      client.send(
        new ListAppInstanceUsersCommand({
          AppInstanceArn: other.body.appInstanceArn,
          NextToken: page.NextToken,
        }),
      ),
    );
    expect(foreign).toBeInstanceOf(BadRequestException);
    const wrongList = await errorOf(client.send(new ListAppInstancesCommand({ NextToken: page.NextToken })));
    expect(wrongList).toBeInstanceOf(BadRequestException);
  });

  it('pages AppInstances too', async () => {
    for (let i = 0; i < 3; i++)
      await admin(emulator.url, 'POST', 'seed', { appInstanceName: `a${i}`, users: [] });
    const first = await client.send(new ListAppInstancesCommand({ MaxResults: 2 }));
    const second = await client.send(
      new ListAppInstancesCommand({ MaxResults: 2, NextToken: first.NextToken }),
    );
    expect(first.AppInstances).toHaveLength(2);
    expect(second.AppInstances).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
    const names = [...(first.AppInstances ?? []), ...(second.AppInstances ?? [])]
      .map((app) => app.Name)
      .sort();
    expect(names).toEqual(['a0', 'a1', 'a2']);
  });
});
