import {
  type ChimeSDKIdentityClient,
  ConflictException,
  CreateAppInstanceAdminCommand,
  CreateAppInstanceBotCommand,
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  DeleteAppInstanceAdminCommand,
  DeleteAppInstanceBotCommand,
  DeleteAppInstanceCommand,
  DeleteAppInstanceUserCommand,
  DeregisterAppInstanceUserEndpointCommand,
  DescribeAppInstanceAdminCommand,
  DescribeAppInstanceBotCommand,
  DescribeAppInstanceCommand,
  DescribeAppInstanceUserCommand,
  DescribeAppInstanceUserEndpointCommand,
  ForbiddenException,
  GetAppInstanceRetentionSettingsCommand,
  ListAppInstanceAdminsCommand,
  ListAppInstanceBotsCommand,
  ListAppInstancesCommand,
  ListAppInstanceUserEndpointsCommand,
  ListAppInstanceUsersCommand,
  ListTagsForResourceCommand,
  NotFoundException,
  PutAppInstanceRetentionSettingsCommand,
  PutAppInstanceUserExpirationSettingsCommand,
  RegisterAppInstanceUserEndpointCommand,
  ResourceLimitExceededException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAppInstanceBotCommand,
  UpdateAppInstanceCommand,
  UpdateAppInstanceUserCommand,
  UpdateAppInstanceUserEndpointCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChimeEmulator, startChimeEmulator } from '../../../emulator/index';
import { chimeClient, errorOf } from './helpers';

const LEX_CONFIGURATION = {
  Lex: {
    LexBotAliasArn: 'arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST',
    LocaleId: 'en_US',
    RespondsTo: 'STANDARD_MESSAGES' as const,
  },
};
const PINPOINT_ARN = 'arn:aws:mobiletargeting:us-east-1:111122223333:apps/abcdef';

let emulator: ChimeEmulator;
let client: ChimeSDKIdentityClient;

beforeAll(async () => {
  emulator = await startChimeEmulator({ port: 0, quotas: false });
  client = chimeClient(emulator.url);
});
afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});

async function newAppInstance(name = 'app'): Promise<string> {
  const { AppInstanceArn } = await client.send(new CreateAppInstanceCommand({ Name: name }));
  return AppInstanceArn as string;
}

describe('AppInstances', () => {
  it('creates (201), describes, lists, updates and deletes an AppInstance', async () => {
    const created = await client.send(
      new CreateAppInstanceCommand({
        Name: 'tenant 😀',
        Metadata: '{"a":1}',
        Tags: [{ Key: 'env', Value: 'test' }],
      }),
    );
    expect(created.$metadata.httpStatusCode).toBe(201);
    const arn = created.AppInstanceArn as string;
    expect(arn).toMatch(/^arn:aws:chime:us-east-1:111122223333:app-instance\/[0-9a-f-]{36}$/);

    const described = await client.send(new DescribeAppInstanceCommand({ AppInstanceArn: arn }));
    expect(described.AppInstance).toMatchObject({
      AppInstanceArn: arn,
      Name: 'tenant 😀',
      Metadata: '{"a":1}',
    });
    expect(described.AppInstance?.CreatedTimestamp).toBeInstanceOf(Date);
    expect(Math.abs((described.AppInstance?.CreatedTimestamp?.getTime() ?? 0) - Date.now())).toBeLessThan(
      5000,
    );

    const updated = await client.send(
      new UpdateAppInstanceCommand({ AppInstanceArn: arn, Name: 'renamed', Metadata: '' }),
    );
    expect(updated.AppInstanceArn).toBe(arn);
    const listed = await client.send(new ListAppInstancesCommand({ MaxResults: 50 }));
    expect(listed.AppInstances).toContainEqual({ AppInstanceArn: arn, Name: 'renamed', Metadata: '' });

    const deleted = await client.send(new DeleteAppInstanceCommand({ AppInstanceArn: arn }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    expect(
      await errorOf(client.send(new DescribeAppInstanceCommand({ AppInstanceArn: arn }))),
    ).toBeInstanceOf(NotFoundException);
  });

  it('stores and returns retention settings', async () => {
    const arn = await newAppInstance();
    const before = await client.send(new GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: arn }));
    expect(before.AppInstanceRetentionSettings).toEqual({});
    const put = await client.send(
      new PutAppInstanceRetentionSettingsCommand({
        AppInstanceArn: arn,
        AppInstanceRetentionSettings: { ChannelRetentionSettings: { RetentionDays: 30 } },
      }),
    );
    expect(put.InitiateDeletionTimestamp).toBeInstanceOf(Date);
    const after = await client.send(new GetAppInstanceRetentionSettingsCommand({ AppInstanceArn: arn }));
    expect(after.AppInstanceRetentionSettings).toEqual({ ChannelRetentionSettings: { RetentionDays: 30 } });
  });

  it('makes CreateAppInstance idempotent per ClientRequestToken and rejects a reused token with new parameters', async () => {
    const first = await client.send(
      new CreateAppInstanceCommand({ Name: 'idem', ClientRequestToken: 'token-app-1' }),
    );
    const again = await client.send(
      new CreateAppInstanceCommand({ Name: 'idem', ClientRequestToken: 'token-app-1' }),
    );
    expect(again.AppInstanceArn).toBe(first.AppInstanceArn);
    const mismatch = await errorOf(
      client.send(new CreateAppInstanceCommand({ Name: 'other', ClientRequestToken: 'token-app-1' })),
    );
    expect(mismatch).toBeInstanceOf(ConflictException);
    expect(mismatch.message).toContain('ClientRequestToken');
  });
});

describe('AppInstanceUsers', () => {
  let appArn: string;
  beforeAll(async () => {
    appArn = await newAppInstance('users');
  });

  it('creates a user whose ARN is built from the AppInstance and the id (URL-encoded in paths)', async () => {
    const created = await client.send(
      new CreateAppInstanceUserCommand({
        AppInstanceArn: appArn,
        AppInstanceUserId: 'tenant:alice@example.com',
        Name: 'Alice',
        Metadata: 'm',
        ExpirationSettings: { ExpirationDays: 30, ExpirationCriterion: 'CREATED_TIMESTAMP' },
        Tags: [{ Key: 'team', Value: 'a' }],
      }),
    );
    expect(created.$metadata.httpStatusCode).toBe(201);
    expect(created.AppInstanceUserArn).toBe(`${appArn}/user/tenant:alice@example.com`);

    const { AppInstanceUser: user } = await client.send(
      new DescribeAppInstanceUserCommand({ AppInstanceUserArn: created.AppInstanceUserArn }),
    );
    expect(user).toMatchObject({
      AppInstanceUserArn: created.AppInstanceUserArn,
      Name: 'Alice',
      Metadata: 'm',
      ExpirationSettings: { ExpirationDays: 30, ExpirationCriterion: 'CREATED_TIMESTAMP' },
    });
    expect(user?.CreatedTimestamp).toBeInstanceOf(Date);
    expect(user?.LastUpdatedTimestamp?.getTime()).toBe(user?.CreatedTimestamp?.getTime());
  });

  it('returns only AppInstanceUserArn, Name and Metadata from ListAppInstanceUsers', async () => {
    const listed = await client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: appArn }));
    expect(listed.AppInstanceArn).toBe(appArn);
    expect(listed.AppInstanceUsers).toEqual([
      { AppInstanceUserArn: `${appArn}/user/tenant:alice@example.com`, Name: 'Alice', Metadata: 'm' },
    ]);
    expect(listed.NextToken).toBeUndefined();
  });

  it('updates name and metadata, and sets, changes and removes expiration settings', async () => {
    const arn = `${appArn}/user/tenant:alice@example.com`;
    await client.send(
      new UpdateAppInstanceUserCommand({ AppInstanceUserArn: arn, Name: 'Alice B', Metadata: 'n' }),
    );
    const put = await client.send(
      new PutAppInstanceUserExpirationSettingsCommand({
        AppInstanceUserArn: arn,
        ExpirationSettings: { ExpirationDays: 7, ExpirationCriterion: 'CREATED_TIMESTAMP' },
      }),
    );
    expect(put).toMatchObject({
      AppInstanceUserArn: arn,
      ExpirationSettings: { ExpirationDays: 7, ExpirationCriterion: 'CREATED_TIMESTAMP' },
    });
    let { AppInstanceUser: user } = await client.send(
      new DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }),
    );
    expect(user).toMatchObject({ Name: 'Alice B', Metadata: 'n', ExpirationSettings: { ExpirationDays: 7 } });

    const removed = await client.send(
      new PutAppInstanceUserExpirationSettingsCommand({ AppInstanceUserArn: arn }),
    );
    expect(removed.ExpirationSettings).toBeUndefined();
    ({ AppInstanceUser: user } = await client.send(
      new DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn }),
    ));
    expect(user).not.toHaveProperty('ExpirationSettings');
  });

  it('returns the existing ARN for an identical duplicate and ConflictException for a different one', async () => {
    const input = { AppInstanceArn: appArn, AppInstanceUserId: 'dup-user', Name: 'Dup', Metadata: 'x' };
    const first = await client.send(new CreateAppInstanceUserCommand(input));
    const same = await client.send(new CreateAppInstanceUserCommand(input));
    expect(same.$metadata.httpStatusCode).toBe(201);
    expect(same.AppInstanceUserArn).toBe(first.AppInstanceUserArn);
    const different = await errorOf(
      client.send(new CreateAppInstanceUserCommand({ ...input, Name: 'Other' })),
    );
    expect(different).toBeInstanceOf(ConflictException);
    expect((different as ConflictException).Code).toBe('Conflict');
    expect(different.$metadata?.httpStatusCode).toBe(409);
  });

  it('replays a ClientRequestToken with the same parameters and rejects it with different ones', async () => {
    const input = {
      AppInstanceArn: appArn,
      AppInstanceUserId: 'token-user',
      Name: 'T',
      ClientRequestToken: 'same-token-123',
    };
    const first = await client.send(new CreateAppInstanceUserCommand(input));
    await client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: first.AppInstanceUserArn }));
    // The replay returns the recorded result and creates nothing.
    const replay = await client.send(new CreateAppInstanceUserCommand(input));
    expect(replay.AppInstanceUserArn).toBe(first.AppInstanceUserArn);
    expect(
      await errorOf(
        client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: first.AppInstanceUserArn })),
      ),
    ).toBeInstanceOf(NotFoundException);
    const mismatch = await errorOf(
      client.send(new CreateAppInstanceUserCommand({ ...input, AppInstanceUserId: 'token-user-2' })),
    );
    expect(mismatch).toBeInstanceOf(ConflictException);
  });

  it('deletes a user (204) and then reports NotFoundException', async () => {
    const { AppInstanceUserArn } = await client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: appArn, AppInstanceUserId: 'to-delete', Name: 'D' }),
    );
    const deleted = await client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    const missing = await errorOf(client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn })));
    expect(missing).toBeInstanceOf(NotFoundException);
    expect(missing.$metadata?.httpStatusCode).toBe(404);
    expect(
      await errorOf(client.send(new DeleteAppInstanceUserCommand({ AppInstanceUserArn }))),
    ).toBeInstanceOf(NotFoundException);
  });

  it("answers ForbiddenException for another account's ARN, NotFoundException for another Region's", async () => {
    const foreign = appArn.replace('111122223333', '999999999999');
    const error = await errorOf(
      client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: `${foreign}/user/x` })),
    );
    expect(error).toBeInstanceOf(ForbiddenException);
    expect(error.$metadata?.httpStatusCode).toBe(403);
    const otherRegion = await errorOf(
      client.send(
        new ListAppInstanceUsersCommand({ AppInstanceArn: appArn.replace('us-east-1', 'eu-central-1') }),
      ),
    );
    // The request was signed for us-east-1, whose endpoint does not know eu-central-1's AppInstances.
    expect(otherRegion).toBeInstanceOf(NotFoundException);
    expect(otherRegion.$metadata?.httpStatusCode).toBe(404);
  });
});

describe('AppInstanceBots and admins', () => {
  it('creates, describes, lists, updates and deletes a bot', async () => {
    const appArn = await newAppInstance('bots');
    const created = await client.send(
      new CreateAppInstanceBotCommand({
        AppInstanceArn: appArn,
        Name: 'helper',
        Configuration: LEX_CONFIGURATION,
      }),
    );
    expect(created.$metadata.httpStatusCode).toBe(201);
    const botArn = created.AppInstanceBotArn as string;
    expect(botArn).toMatch(new RegExp(`^${appArn}/bot/[0-9a-f-]{36}$`));

    const { AppInstanceBot: bot } = await client.send(
      new DescribeAppInstanceBotCommand({ AppInstanceBotArn: botArn }),
    );
    expect(bot).toMatchObject({
      AppInstanceBotArn: botArn,
      Name: 'helper',
      Configuration: LEX_CONFIGURATION,
    });
    expect(bot?.CreatedTimestamp).toBeInstanceOf(Date);

    await client.send(
      new UpdateAppInstanceBotCommand({ AppInstanceBotArn: botArn, Name: 'helper2', Metadata: 'm' }),
    );
    const listed = await client.send(new ListAppInstanceBotsCommand({ AppInstanceArn: appArn }));
    expect(listed.AppInstanceBots).toEqual([{ AppInstanceBotArn: botArn, Name: 'helper2', Metadata: 'm' }]);

    const deleted = await client.send(new DeleteAppInstanceBotCommand({ AppInstanceBotArn: botArn }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    const missing = await errorOf(
      client.send(new DescribeAppInstanceBotCommand({ AppInstanceBotArn: botArn })),
    );
    expect(missing).toBeInstanceOf(NotFoundException);
  });

  it('manages AppInstance admins', async () => {
    const appArn = await newAppInstance('admins');
    const { AppInstanceUserArn: userArn } = await client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: appArn, AppInstanceUserId: 'boss', Name: 'Boss' }),
    );
    const created = await client.send(
      new CreateAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: userArn }),
    );
    expect(created.$metadata.httpStatusCode).toBe(201);
    expect(created).toMatchObject({
      AppInstanceArn: appArn,
      AppInstanceAdmin: { Arn: userArn, Name: 'Boss' },
    });

    const described = await client.send(
      new DescribeAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: userArn }),
    );
    expect(described.AppInstanceAdmin).toMatchObject({
      Admin: { Arn: userArn, Name: 'Boss' },
      AppInstanceArn: appArn,
    });
    expect(described.AppInstanceAdmin?.CreatedTimestamp).toBeInstanceOf(Date);

    const listed = await client.send(new ListAppInstanceAdminsCommand({ AppInstanceArn: appArn }));
    expect(listed.AppInstanceAdmins).toEqual([{ Admin: { Arn: userArn, Name: 'Boss' } }]);

    const deleted = await client.send(
      new DeleteAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: userArn }),
    );
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    const notAdmin = await errorOf(
      client.send(
        new DescribeAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: userArn }),
      ),
    );
    expect(notAdmin).toBeInstanceOf(NotFoundException);
  });

  it('enforces the admin quota with ResourceLimitExceededException', async () => {
    const limited = await startChimeEmulator({ port: 0, quotas: false, limits: { adminsPerAppInstance: 1 } });
    const limitedClient = chimeClient(limited.url);
    try {
      const { appInstanceArn, userArns } = limited.seed({
        users: [
          { appInstanceUserId: 'a', name: 'A' },
          { appInstanceUserId: 'b', name: 'B' },
        ],
      });
      await limitedClient.send(
        new CreateAppInstanceAdminCommand({
          AppInstanceArn: appInstanceArn,
          AppInstanceAdminArn: userArns[0],
        }),
      );
      const error = await errorOf(
        limitedClient.send(
          new CreateAppInstanceAdminCommand({
            AppInstanceArn: appInstanceArn,
            AppInstanceAdminArn: userArns[1],
          }),
        ),
      );
      expect(error).toBeInstanceOf(ResourceLimitExceededException);
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect((error as ResourceLimitExceededException).Code).toBe('ResourceLimitExceeded');
    } finally {
      limitedClient.destroy();
      await limited.close();
    }
  });
});

describe('AppInstanceUserEndpoints', () => {
  it('registers, describes, lists, updates and deregisters endpoints, up to 10 per user', async () => {
    const appArn = await newAppInstance('endpoints');
    const { AppInstanceUserArn: userArn } = await client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: appArn, AppInstanceUserId: 'phone', Name: 'P' }),
    );
    const register = (token: string) =>
      client.send(
        new RegisterAppInstanceUserEndpointCommand({
          AppInstanceUserArn: userArn,
          Name: 'iphone',
          Type: 'APNS',
          ResourceArn: PINPOINT_ARN,
          EndpointAttributes: { DeviceToken: `device-${token}` },
          ClientRequestToken: token,
        }),
      );
    const registered = await register('endpoint-token-0');
    expect(registered.$metadata.httpStatusCode).toBe(201);
    expect(registered.AppInstanceUserArn).toBe(userArn);
    const endpointId = registered.EndpointId as string;
    expect((await register('endpoint-token-0')).EndpointId).toBe(endpointId);

    const { AppInstanceUserEndpoint: endpoint } = await client.send(
      new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: endpointId }),
    );
    expect(endpoint).toMatchObject({
      AppInstanceUserArn: userArn,
      EndpointId: endpointId,
      Name: 'iphone',
      Type: 'APNS',
      ResourceArn: PINPOINT_ARN,
      EndpointAttributes: { DeviceToken: 'device-endpoint-token-0' },
      AllowMessages: 'ALL',
      EndpointState: { Status: 'ACTIVE' },
    });

    await client.send(
      new UpdateAppInstanceUserEndpointCommand({
        AppInstanceUserArn: userArn,
        EndpointId: endpointId,
        AllowMessages: 'NONE',
      }),
    );
    const listed = await client.send(
      new ListAppInstanceUserEndpointsCommand({ AppInstanceUserArn: userArn }),
    );
    expect(listed.AppInstanceUserEndpoints).toEqual([
      {
        AppInstanceUserArn: userArn,
        EndpointId: endpointId,
        Name: 'iphone',
        Type: 'APNS',
        AllowMessages: 'NONE',
        EndpointState: { Status: 'ACTIVE' },
      },
    ]);

    for (let i = 1; i < 10; i++) await register(`endpoint-token-${i}`);
    expect(await errorOf(register('endpoint-token-10'))).toBeInstanceOf(ResourceLimitExceededException);

    const deregistered = await client.send(
      new DeregisterAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: endpointId }),
    );
    expect(deregistered.$metadata.httpStatusCode).toBe(204);
    const gone = await errorOf(
      client.send(
        new DescribeAppInstanceUserEndpointCommand({ AppInstanceUserArn: userArn, EndpointId: endpointId }),
      ),
    );
    expect(gone).toBeInstanceOf(NotFoundException);
  });
});

describe('tags', () => {
  it('tags, lists and untags users, bots and AppInstances; caps a resource at 50 tags', async () => {
    const appArn = await newAppInstance('tags');
    const { AppInstanceUserArn: userArn } = await client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: appArn, AppInstanceUserId: 'tagged', Name: 'T' }),
    );
    const tagged = await client.send(
      new TagResourceCommand({
        ResourceARN: userArn,
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    expect(tagged.$metadata.httpStatusCode).toBe(204);
    await client.send(new TagResourceCommand({ ResourceARN: userArn, Tags: [{ Key: 'a', Value: '3' }] }));
    const untagged = await client.send(new UntagResourceCommand({ ResourceARN: userArn, TagKeys: ['b'] }));
    expect(untagged.$metadata.httpStatusCode).toBe(204);
    expect((await client.send(new ListTagsForResourceCommand({ ResourceARN: userArn }))).Tags).toEqual([
      { Key: 'a', Value: '3' },
    ]);

    await client.send(new TagResourceCommand({ ResourceARN: appArn, Tags: [{ Key: 'app', Value: 'x' }] }));
    expect((await client.send(new ListTagsForResourceCommand({ ResourceARN: appArn }))).Tags).toEqual([
      { Key: 'app', Value: 'x' },
    ]);

    const many = (prefix: string) =>
      Array.from({ length: 30 }, (_, i) => ({ Key: `${prefix}${i}`, Value: 'v' }));
    await client.send(new TagResourceCommand({ ResourceARN: appArn, Tags: many('x') }));
    const tooMany = await errorOf(
      client.send(new TagResourceCommand({ ResourceARN: appArn, Tags: many('y') })),
    );
    expect(tooMany).toBeInstanceOf(ResourceLimitExceededException);
  });
});

describe('cascading delete', () => {
  it('deleting an AppInstance deletes its users, bots and admins', async () => {
    const appArn = await newAppInstance('cascade');
    const { AppInstanceUserArn: userArn } = await client.send(
      new CreateAppInstanceUserCommand({ AppInstanceArn: appArn, AppInstanceUserId: 'u1', Name: 'U' }),
    );
    const { AppInstanceBotArn: botArn } = await client.send(
      new CreateAppInstanceBotCommand({ AppInstanceArn: appArn, Configuration: LEX_CONFIGURATION }),
    );
    await client.send(
      new CreateAppInstanceAdminCommand({ AppInstanceArn: appArn, AppInstanceAdminArn: userArn }),
    );
    await client.send(new DeleteAppInstanceCommand({ AppInstanceArn: appArn }));
    expect(
      await errorOf(client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: userArn }))),
    ).toBeInstanceOf(NotFoundException);
    expect(
      await errorOf(client.send(new DescribeAppInstanceBotCommand({ AppInstanceBotArn: botArn }))),
    ).toBeInstanceOf(NotFoundException);
    expect(
      await errorOf(client.send(new ListAppInstanceAdminsCommand({ AppInstanceArn: appArn }))),
    ).toBeInstanceOf(NotFoundException);
  });
});

describe('coverage', () => {
  it('exercised every one of the 30 operations of the model', () => {
    const called = Object.keys(emulator.stats().calls).sort();
    expect(called).toHaveLength(30);
  });
});
