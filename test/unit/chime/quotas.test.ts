import { describe, expect, it } from 'vitest';
import { appInstanceArnOfUser, appInstanceUserArn, appInstanceUserIdOf } from '../../../shared/chime/arn';
import {
  bucketKeysFor,
  DEFAULT_CHIME_QUOTAS,
  quotaLimits,
  rateForBucket,
} from '../../../shared/chime/quotas';

const APP = 'arn:aws:chime:us-east-1:111122223333:app-instance/0b6a1f3e-1111-2222-3333-444455556666';
const USER = `${APP}/user/alice:ops@example.com`;

describe('quotaLimits', () => {
  it('returns the AWS defaults at scale 1 and full share', () => {
    expect(quotaLimits({ quotaScale: 1, accountQuotaShare: 1 })).toEqual({
      account: 50,
      'user-writes': 10,
      'describe-user': 20,
      'list-users': 10,
      'app-instance-writes': 5,
      'describe-app-instance': 20,
      'list-app-instances': 10,
    });
  });

  it('scales every quota and applies the share to the account bucket only', () => {
    const limits = quotaLimits({ quotaScale: 2, accountQuotaShare: 0.25 });
    expect(limits.account).toBe(50 * 2 * 0.25);
    expect(limits['user-writes']).toBe(20);
    expect(limits['describe-user']).toBe(40);
    expect(limits['list-users']).toBe(20);
    expect(limits['app-instance-writes']).toBe(10);
  });

  it('rejects a non-positive scale and a share outside (0, 1]', () => {
    expect(() => quotaLimits({ quotaScale: 0, accountQuotaShare: 1 })).toThrow(RangeError);
    expect(() => quotaLimits({ quotaScale: 1, accountQuotaShare: 0 })).toThrow(RangeError);
    expect(() => quotaLimits({ quotaScale: 1, accountQuotaShare: 1.5 })).toThrow(RangeError);
  });

  it('does not change the defaults it scales', () => {
    quotaLimits({ quotaScale: 3, accountQuotaShare: 0.5 });
    expect(DEFAULT_CHIME_QUOTAS.account).toBe(50);
  });
});

describe('bucketKeysFor', () => {
  it.each([
    'CreateAppInstanceUser',
    'UpdateAppInstanceUser',
    'DeleteAppInstanceUser',
    'PutAppInstanceUserExpirationSettings',
  ])('charges %s to the per-AppInstance user-writes bucket', (operation) => {
    const input =
      operation === 'CreateAppInstanceUser' ? { AppInstanceArn: APP } : { AppInstanceUserArn: USER };
    expect(bucketKeysFor(operation, input)).toEqual(['account', `user-writes:${APP}`]);
  });

  it('derives the AppInstance from a user ARN for describes', () => {
    expect(bucketKeysFor('DescribeAppInstanceUser', { AppInstanceUserArn: USER })).toEqual([
      'account',
      `describe-user:${APP}`,
    ]);
  });

  it('charges listings per AppInstance and accepts the SDK command name', () => {
    expect(bucketKeysFor('ListAppInstanceUsersCommand', { AppInstanceArn: APP })).toEqual([
      'account',
      `list-users:${APP}`,
    ]);
  });

  it('charges AppInstance writes and ListAppInstances to account-wide buckets', () => {
    expect(bucketKeysFor('CreateAppInstance', { Name: 'x' })).toEqual(['account', 'app-instance-writes']);
    expect(bucketKeysFor('DeleteAppInstance', { AppInstanceArn: APP })).toEqual([
      'account',
      'app-instance-writes',
    ]);
    expect(bucketKeysFor('ListAppInstances', {})).toEqual(['account', 'list-app-instances']);
  });

  it('charges operations without a quota of their own to the account bucket only', () => {
    expect(bucketKeysFor('TagResource', { ResourceARN: USER })).toEqual(['account']);
    expect(bucketKeysFor('ListAppInstanceUserEndpoints', { AppInstanceUserArn: USER })).toEqual(['account']);
  });

  it('falls back to the account bucket when the input carries no usable ARN', () => {
    expect(bucketKeysFor('DescribeAppInstanceUser', {})).toEqual(['account']);
    expect(bucketKeysFor('DescribeAppInstanceUser', { AppInstanceUserArn: APP })).toEqual(['account']);
    expect(bucketKeysFor('DescribeAppInstanceUser', undefined)).toEqual(['account']);
  });
});

describe('rateForBucket', () => {
  it('reads the quota name before the first colon', () => {
    const limits = quotaLimits({ quotaScale: 1, accountQuotaShare: 0.5 });
    expect(rateForBucket(limits, 'account')).toBe(25);
    expect(rateForBucket(limits, `describe-user:${APP}`)).toBe(20);
    expect(rateForBucket(limits, 'list-app-instances')).toBe(10);
    expect(() => rateForBucket(limits, 'nonsense:x')).toThrow(RangeError);
  });
});

describe('ARN helpers', () => {
  it('split and build user ARNs, keeping colons and @ inside the user id', () => {
    expect(appInstanceArnOfUser(USER)).toBe(APP);
    expect(appInstanceUserIdOf(USER)).toBe('alice:ops@example.com');
    expect(appInstanceUserArn(APP, 'alice:ops@example.com')).toBe(USER);
    expect(appInstanceArnOfUser(APP)).toBeUndefined();
    expect(() => appInstanceUserIdOf(APP)).toThrow();
  });
});
