import { describe, expect, it } from 'vitest';
import { EmulatorClock } from '../../../emulator/clock';
import { ChimeIdentityService, DEFAULT_LIMITS, type OperationInput } from '../../../emulator/service';

const service = () =>
  new ChimeIdentityService({
    region: 'us-east-1',
    accountId: '111122223333',
    expiryDelaySeconds: 21_600,
    limits: DEFAULT_LIMITS,
    clock: new EmulatorClock(),
  });

const call = (target: ChimeIdentityService, operation: string, input: OperationInput) => {
  const handler = target.handlers[operation];
  if (!handler) throw new Error(`no handler ${operation}`);
  return handler(input) as Record<string, unknown>;
};

describe('service snapshot and restore', () => {
  it('round-trips every kind of resource through JSON, and the restored service answers the same', () => {
    const original = service();
    const { AppInstanceArn } = call(original, 'CreateAppInstance', {
      Name: 'app',
      Metadata: 'meta',
      ClientRequestToken: 'app-token-1',
      Tags: [{ Key: 'team', Value: 'a' }],
    }) as { AppInstanceArn: string };
    const { AppInstanceUserArn } = call(original, 'CreateAppInstanceUser', {
      AppInstanceArn,
      AppInstanceUserId: 'u-1',
      Name: 'U',
      Metadata: '{"plan":"trial"}',
      ClientRequestToken: 'user-token-1',
      ExpirationSettings: { ExpirationDays: 5, ExpirationCriterion: 'CREATED_TIMESTAMP' },
      Tags: [{ Key: 'k', Value: 'v' }],
    }) as { AppInstanceUserArn: string };
    call(original, 'CreateAppInstanceUser', {
      AppInstanceArn,
      AppInstanceUserId: 'a-2',
      Name: 'A',
      ClientRequestToken: 'user-token-2',
    });
    const { EndpointId } = call(original, 'RegisterAppInstanceUserEndpoint', {
      AppInstanceUserArn,
      Name: 'phone',
      Type: 'GCM',
      ResourceArn: 'arn:aws:mobiletargeting:us-east-1:111122223333:apps/x',
      EndpointAttributes: { DeviceToken: 'token' },
      ClientRequestToken: 'endpoint-token-1',
    }) as { EndpointId: string };
    const { AppInstanceBotArn } = call(original, 'CreateAppInstanceBot', {
      AppInstanceArn,
      Name: 'bot',
      Configuration: {
        Lex: { LexBotAliasArn: 'arn:aws:lex:us-east-1:111122223333:bot-alias/B/A', LocaleId: 'en_US' },
      },
      ClientRequestToken: 'bot-token-1',
    }) as { AppInstanceBotArn: string };
    call(original, 'CreateAppInstanceAdmin', { AppInstanceArn, AppInstanceAdminArn: AppInstanceUserArn });
    call(original, 'PutAppInstanceRetentionSettings', {
      AppInstanceArn,
      AppInstanceRetentionSettings: { ChannelRetentionSettings: { RetentionDays: 10 } },
    });

    const restored = service();
    restored.restore(JSON.parse(JSON.stringify(original.snapshot())));

    for (const [operation, input] of [
      ['DescribeAppInstance', { AppInstanceArn }],
      ['ListAppInstanceUsers', { AppInstanceArn }],
      ['DescribeAppInstanceUser', { AppInstanceUserArn }],
      ['DescribeAppInstanceUserEndpoint', { AppInstanceUserArn, EndpointId }],
      ['DescribeAppInstanceBot', { AppInstanceBotArn }],
      ['ListAppInstanceAdmins', { AppInstanceArn }],
      ['GetAppInstanceRetentionSettings', { AppInstanceArn }],
      ['ListTagsForResource', { ResourceARN: AppInstanceUserArn }],
    ] as const) {
      expect(call(restored, operation, input), operation).toEqual(call(original, operation, input));
    }
    expect(restored.counts()).toEqual(original.counts());
    // ClientRequestTokens are kept: the same request returns the first result and creates nothing.
    expect(
      call(restored, 'CreateAppInstance', {
        Name: 'app',
        Metadata: 'meta',
        ClientRequestToken: 'app-token-1',
        Tags: [{ Key: 'team', Value: 'a' }],
      }),
    ).toEqual({ AppInstanceArn });
    expect(restored.counts().appInstances).toBe(1);
    // Lists stay sorted after a restore, and new users slot in.
    call(restored, 'CreateAppInstanceUser', {
      AppInstanceArn,
      AppInstanceUserId: 'm-3',
      Name: 'M',
      ClientRequestToken: 'user-token-3',
    });
    const ids = (
      call(restored, 'ListAppInstanceUsers', { AppInstanceArn }).AppInstanceUsers as {
        AppInstanceUserArn: string;
      }[]
    ).map((user) => user.AppInstanceUserArn.split('/user/')[1]);
    expect(ids).toEqual(['a-2', 'm-3', 'u-1']);
  });

  it('a restored user still expires: the sweep deletes it once its expiry plus the delay has passed', () => {
    const clock = new EmulatorClock();
    const original = new ChimeIdentityService({
      region: 'us-east-1',
      accountId: '111122223333',
      expiryDelaySeconds: 0,
      limits: DEFAULT_LIMITS,
      clock,
    });
    const arn = original.createAppInstanceDirect('app', undefined);
    original.seedUsers(arn, [
      { userId: 'soon', name: 'S', metadata: undefined, createdMs: clock.now(), expirationDays: 1 },
    ]);
    const restored = new ChimeIdentityService({
      region: 'us-east-1',
      accountId: '111122223333',
      expiryDelaySeconds: 0,
      limits: DEFAULT_LIMITS,
      clock,
    });
    restored.restore(JSON.parse(JSON.stringify(original.snapshot())));
    expect(restored.sweepExpired()).toBe(0);
    clock.advance(86_401);
    expect(restored.sweepExpired()).toBe(1);
    expect(restored.userCount(arn)).toBe(0);
  });
});
