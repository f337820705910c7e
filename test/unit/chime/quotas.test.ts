import { describe, expect, it } from 'vitest';
import { appInstanceArnOfUser, appInstanceUserArn, appInstanceUserIdOf } from '../../../shared/chime/arn';
import {
  accountBucketOf,
  bucketKeysFor,
  DEFAULT_CHIME_QUOTAS,
  isAccountBucket,
  type QuotaScope,
  quotaLimits,
  rateForBucket,
  scopeOfArn,
} from '../../../shared/chime/quotas';

const APP = 'arn:aws:chime:us-east-1:111122223333:app-instance/0b6a1f3e-1111-2222-3333-444455556666';
const USER = `${APP}/user/alice:ops@example.com`;
/** A client of eu-central-1 with the process's own credentials. */
const EU_OWN: QuotaScope = { account: 'own', region: 'eu-central-1' };

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
  /** The account bucket of APP's account and Region. */
  const ACCOUNT = 'account:111122223333:us-east-1';

  it.each([
    'CreateAppInstanceUser',
    'UpdateAppInstanceUser',
    'DeleteAppInstanceUser',
    'PutAppInstanceUserExpirationSettings',
  ])('charges %s to the per-AppInstance user-writes bucket', (operation) => {
    const input =
      operation === 'CreateAppInstanceUser' ? { AppInstanceArn: APP } : { AppInstanceUserArn: USER };
    expect(bucketKeysFor(operation, input)).toEqual([ACCOUNT, `user-writes:${APP}`]);
  });

  it('derives the AppInstance from a user ARN for describes', () => {
    expect(bucketKeysFor('DescribeAppInstanceUser', { AppInstanceUserArn: USER })).toEqual([
      ACCOUNT,
      `describe-user:${APP}`,
    ]);
  });

  it('charges listings per AppInstance and accepts the SDK command name', () => {
    expect(bucketKeysFor('ListAppInstanceUsersCommand', { AppInstanceArn: APP })).toEqual([
      ACCOUNT,
      `list-users:${APP}`,
    ]);
  });

  it('charges AppInstance writes and ListAppInstances to account-wide buckets of their scope', () => {
    expect(bucketKeysFor('CreateAppInstance', { Name: 'x' })).toEqual(['account', 'app-instance-writes']);
    expect(bucketKeysFor('CreateAppInstance', { Name: 'x' }, EU_OWN)).toEqual([
      'account:own:eu-central-1',
      'app-instance-writes:own:eu-central-1',
    ]);
    expect(bucketKeysFor('DeleteAppInstance', { AppInstanceArn: APP })).toEqual([
      ACCOUNT,
      'app-instance-writes:111122223333:us-east-1',
    ]);
    expect(bucketKeysFor('ListAppInstances', {})).toEqual(['account', 'list-app-instances']);
  });

  it('charges operations without a quota of their own to the account bucket only', () => {
    expect(bucketKeysFor('TagResource', { ResourceARN: USER })).toEqual(['account']);
    expect(bucketKeysFor('TagResource', { ResourceARN: USER }, EU_OWN)).toEqual(['account:own:eu-central-1']);
    expect(bucketKeysFor('ListAppInstanceUserEndpoints', { AppInstanceUserArn: USER })).toEqual([ACCOUNT]);
  });

  it('falls back to the account bucket of the client when the input carries no usable ARN', () => {
    expect(bucketKeysFor('DescribeAppInstanceUser', {})).toEqual(['account']);
    expect(bucketKeysFor('DescribeAppInstanceUser', { AppInstanceUserArn: APP })).toEqual(['account']);
    expect(bucketKeysFor('DescribeAppInstanceUser', undefined, EU_OWN)).toEqual(['account:own:eu-central-1']);
  });

  it("scopes every bucket by the ARN's account and Region, whatever client sends it", () => {
    const eu = 'arn:aws:chime:eu-central-1:444455556666:app-instance/e1';
    expect(bucketKeysFor('DescribeAppInstanceUser', { AppInstanceUserArn: `${eu}/user/u` }, EU_OWN)).toEqual([
      'account:444455556666:eu-central-1',
      `describe-user:${eu}`,
    ]);
    // Two tenants in two Regions of one account share no bucket.
    const us = bucketKeysFor('ListAppInstanceUsers', { AppInstanceArn: APP });
    const euKeys = bucketKeysFor('ListAppInstanceUsers', {
      AppInstanceArn: 'arn:aws:chime:eu-central-1:111122223333:app-instance/e2',
    });
    expect(us.filter((key) => euKeys.includes(key))).toEqual([]);
  });
});

describe('bucket scopes', () => {
  it.each<[string, string]>([
    ['account', 'account'],
    ['list-app-instances', 'account'],
    ['account:own:eu-central-1', 'account:own:eu-central-1'],
    ['app-instance-writes:444455556666:us-east-1', 'account:444455556666:us-east-1'],
    [`describe-user:${APP}`, 'account:111122223333:us-east-1'],
    [
      'user-writes:arn:aws:chime:eu-central-1:444455556666:app-instance/x',
      'account:444455556666:eu-central-1',
    ],
  ])('%s draws on %s', (key, account) => {
    expect(accountBucketOf(key)).toBe(account);
    expect(isAccountBucket(account)).toBe(true);
  });

  it('reads the scope of AppInstance and user ARNs only', () => {
    expect(scopeOfArn(USER)).toEqual({ account: '111122223333', region: 'us-east-1' });
    expect(scopeOfArn('arn:aws:iam::111122223333:role/x')).toBeUndefined();
    expect(isAccountBucket(`describe-user:${APP}`)).toBe(false);
  });
});

describe('rateForBucket', () => {
  it('reads the quota name before the first colon', () => {
    const limits = quotaLimits({ quotaScale: 1, accountQuotaShare: 0.5 });
    expect(rateForBucket(limits, 'account')).toBe(25);
    expect(rateForBucket(limits, `describe-user:${APP}`)).toBe(20);
    expect(rateForBucket(limits, 'list-app-instances')).toBe(10);
    expect(rateForBucket(limits, 'account:444455556666:eu-central-1')).toBe(25);
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
