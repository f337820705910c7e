import { describe, expect, it } from 'vitest';
import { formatProblems, parsePolicy, parseRoleArn } from '../../../shared/policy';
import { APP_INSTANCE_ARN } from './fixtures';

/** The AppInstance of the fixtures is in account 111122223333. */
const ROLE = 'arn:aws:iam::111122223333:role/chime-lifecycle-tenant';

function problemLines(access: unknown, appInstanceArn = APP_INSTANCE_ARN): string[] {
  const result = parsePolicy({ tenantId: 'acme', appInstanceArn, rules: [], access });
  return result.ok ? [] : formatProblems(result.problems);
}

describe('policy access (a role of the AppInstance account)', () => {
  it('keeps a valid access as given', () => {
    const result = parsePolicy({
      tenantId: 'acme',
      appInstanceArn: APP_INSTANCE_ARN,
      rules: [],
      access: { roleArn: ROLE, externalId: 'acme-7f3a' },
    });
    expect(result.ok && result.policy.access).toEqual({ roleArn: ROLE, externalId: 'acme-7f3a' });
  });

  it('is optional: without it the deployment uses its own credentials', () => {
    const result = parsePolicy({ tenantId: 'acme', appInstanceArn: APP_INSTANCE_ARN, rules: [] });
    expect(result.ok && 'access' in result.policy).toBe(false);
  });

  it.each<[string, string]>([
    ['a role with a path', 'arn:aws:iam::111122223333:role/tenants/eu/chime-lifecycle'],
    ['the longest name', `arn:aws:iam::111122223333:role/${'r'.repeat(64)}`],
    ['every name character', 'arn:aws:iam::111122223333:role/a+b=c,d.e@f_g-h'],
  ])('accepts %s', (_name, roleArn) => {
    expect(problemLines({ roleArn, externalId: 'ab' })).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['a user ARN', 'arn:aws:iam::111122223333:user/alice', 'access.roleArn: must be an IAM role ARN'],
    [
      'a region in the ARN',
      'arn:aws:iam:us-east-1:111122223333:role/x',
      'access.roleArn: must be an IAM role ARN',
    ],
    ['a short account', 'arn:aws:iam::11112222333:role/x', 'access.roleArn: must be an IAM role ARN'],
    [
      'a name of 65',
      `arn:aws:iam::111122223333:role/${'r'.repeat(65)}`,
      'access.roleArn: must be an IAM role ARN',
    ],
    ['a space in the name', 'arn:aws:iam::111122223333:role/a b', 'access.roleArn: must be an IAM role ARN'],
    ['a number', 7, 'access.roleArn: must be an IAM role ARN'],
  ])('refuses roleArn: %s', (_name, roleArn, expected) => {
    expect(problemLines({ roleArn, externalId: 'ab' })[0]).toContain(expected);
  });

  it.each<[string, unknown]>([
    ['one character', 'a'],
    ['1225 characters', 'a'.repeat(1225)],
    ['a space', 'a b'],
    ['a quote', 'a"b'],
    ['not a string', 42],
  ])('refuses externalId: %s', (_name, externalId) => {
    expect(problemLines({ roleArn: ROLE, externalId })).toEqual([
      expect.stringMatching(/^access\.externalId: must be 2\.\.1224 characters/),
    ]);
  });

  it.each<[string, string]>([
    ['2 characters', 'ab'],
    ['1224 characters', 'x'.repeat(1224)],
    ['every allowed character', 'aZ09_+=,.@:/-'],
  ])('accepts externalId: %s', (_name, externalId) => {
    expect(problemLines({ roleArn: ROLE, externalId })).toEqual([]);
  });

  it('requires both members and nothing else', () => {
    expect(problemLines({ roleArn: ROLE })).toEqual(['access.externalId: is required']);
    expect(problemLines({ roleArn: ROLE, externalId: 'ab', sessionName: 'x' })).toEqual([
      'access.sessionName: unknown key (allowed: roleArn, externalId)',
    ]);
    expect(problemLines('arn')).toEqual(['access: must be an object with roleArn and externalId']);
  });

  it("refuses a role outside the AppInstance's account, naming both accounts", () => {
    expect(problemLines({ roleArn: 'arn:aws:iam::444455556666:role/x', externalId: 'ab' })).toEqual([
      "access.roleArn: is a role of account 444455556666 (partition aws), but appInstanceArn is in account 111122223333 (partition aws); the role must be in the AppInstance's own account",
    ]);
    expect(problemLines({ roleArn: 'arn:aws-cn:iam::111122223333:role/x', externalId: 'ab' })[0]).toContain(
      'partition aws-cn',
    );
  });

  it('parses the parts of a role ARN', () => {
    expect(parseRoleArn('arn:aws:iam::111122223333:role/tenants/chime')).toEqual({
      partition: 'aws',
      accountId: '111122223333',
      roleName: 'chime',
    });
    expect(parseRoleArn('arn:aws:iam::111122223333:role/')).toBeNull();
  });
});
