import { describe, expect, it } from 'vitest';
import { patternsIntersect } from '../../integration/deploy/iam';

/** The ARN formats of the Service Authorization Reference that the stack's grants meet. */
const APP_INSTANCE = `arn:\${Partition}:chime:\${Region}:\${AccountId}:app-instance/\${AppInstanceId}`;
const APP_INSTANCE_USER = `${APP_INSTANCE}/user/\${AppInstanceUserId}`;
const TABLE = `arn:\${Partition}:dynamodb:\${Region}:\${Account}:table/\${TableName}`;
const STREAM = `${TABLE}/stream/\${StreamLabel}`;
const LOG_STREAM = `arn:\${Partition}:logs:\${Region}:\${Account}:log-group:\${LogGroupName}:log-stream:\${LogStreamName}`;

describe('patternsIntersect (a granted ARN pattern against a resource type ARN format)', () => {
  it('lets IAM wildcards span "/" while a format variable stays inside one path segment', () => {
    const users = 'arn:aws:chime:us-east-1:123456789012:app-instance/*/user/*';
    const instances = 'arn:aws:chime:us-east-1:123456789012:app-instance/*';
    expect(patternsIntersect(users, APP_INSTANCE_USER)).toBe(true);
    expect(patternsIntersect(users, APP_INSTANCE)).toBe(false);
    // `*` matches "x/user/y" too, so app-instance/* covers users as well as AppInstances.
    expect(patternsIntersect(instances, APP_INSTANCE)).toBe(true);
    expect(patternsIntersect(instances, APP_INSTANCE_USER)).toBe(true);
  });

  it('tells a table from its stream, and another service or region from ours', () => {
    const table = 'arn:aws:dynamodb:us-east-1:123456789012:table/chime-lifecycle-test-policies';
    expect(patternsIntersect(table, TABLE)).toBe(true);
    expect(patternsIntersect(table, STREAM)).toBe(false);
    expect(patternsIntersect(`${table}/stream/2026-01-01T00:00:00.000`, STREAM)).toBe(true);
    expect(patternsIntersect(`${table}/stream/2026-01-01T00:00:00.000`, TABLE)).toBe(false);
    expect(patternsIntersect('arn:aws:sqs:us-east-1:123456789012:queue', TABLE)).toBe(false);
    expect(patternsIntersect('arn:aws:dynamodb:us-east-1:123456789012:table/', TABLE)).toBe(false);
  });

  it('allows "/" inside log group names, and "?" as exactly one character', () => {
    const ownGroup = 'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fn:*';
    expect(patternsIntersect(ownGroup, LOG_STREAM)).toBe(true);
    expect(patternsIntersect('arn:aws:chime:us-east-1:123456789012:app-instance/?', APP_INSTANCE)).toBe(true);
    expect(patternsIntersect('arn:aws:chime:us-east-1:123456789012:app-instance/?', APP_INSTANCE_USER)).toBe(
      false,
    );
  });
});
