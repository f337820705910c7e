import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertValidEvent, type LifecycleEvent } from '../../../shared/contracts/lifecycle-events';
import { ChimeCallError } from '../../../shared/errors';
import type { DescribedUser } from '../../../shared/sync/ports';
import {
  chimeRemovalEventSchema,
  onUserRemoved,
  parseUserArn,
  type UserRemovedResult,
} from '../../../shared/sync/user-removed';

const APP = 'arn:aws:chime:us-east-1:123456789012:app-instance/app-1';
const OTHER_APP = 'arn:aws:chime:us-east-1:123456789012:app-instance/app-2';
const USER = `${APP}/user/u-1`;
const at = Date.UTC(2026, 11, 1, 10, 0, 0);
const live: DescribedUser = { createdAt: at - 86_400_000, expirationDays: 30 };

const expired = (resources: unknown[], extra: Record<string, unknown> = {}) => ({
  source: 'aws.chime',
  'detail-type': 'AWS Service Event via CloudTrail',
  time: new Date(at).toISOString(),
  detail: {
    eventSource: 'chime.amazonaws.com',
    eventName: 'ExpireAppInstanceUser',
    eventTime: new Date(at).toISOString(),
    resources,
    ...extra,
  },
});
const deleted = (arn: unknown, extra: Record<string, unknown> = {}) => ({
  source: 'aws.chime',
  'detail-type': 'AWS API Call via CloudTrail',
  time: new Date(at).toISOString(),
  detail: {
    eventSource: 'chime.amazonaws.com',
    eventName: 'DeleteAppInstanceUser',
    eventTime: new Date(at).toISOString(),
    requestParameters: { appInstanceUserArn: arn },
    ...extra,
  },
});

/** The use case on in-memory ports: the claim of APP only, Chime answering as told. */
async function handle(
  raw: unknown,
  chime: (arn: string) => Promise<DescribedUser | null>,
): Promise<{
  result: UserRemovedResult | Error;
  marked: unknown[];
  published: LifecycleEvent[];
  described: string[];
  claimed: string[];
}> {
  const marked: unknown[] = [];
  const published: LifecycleEvent[] = [];
  const described: string[] = [];
  const claimed: string[] = [];
  const result = await onUserRemoved(chimeRemovalEventSchema.parse(raw), {
    tenantOf: async (arn) => {
      claimed.push(arn);
      return arn === APP ? 'acme' : null;
    },
    users: {
      describe: async (arn) => {
        described.push(arn);
        return chime(arn);
      },
    },
    markRemoved: async (...args) => {
      marked.push(args);
      return true;
    },
    events: {
      publish: async (events) => {
        for (const event of events) assertValidEvent(event);
        published.push(...events);
      },
    },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now: () => at + 60_000,
  }).catch((error: Error) => error);
  return { result, marked, published, described, claimed };
}

const gone = async () => null;
const stillThere = async () => live;

describe('onUserRemoved: confirm before believing', () => {
  it.each([
    ['an expiry', expired([{ ARN: USER }])],
    ['a delete', deleted(USER)],
    ['a delete with the ARN URL-encoded', deleted(encodeURIComponent(USER))],
  ])('%s of a user Chime still has: not marked, nothing published, one Describe', async (_, raw) => {
    const { result, marked, published, described } = await handle(raw, stillThere);
    expect(result).toMatchObject({ outcome: 'still-exists', tenantId: 'acme' });
    expect(marked).toEqual([]);
    expect(published).toEqual([]);
    expect(described).toEqual([USER]);
  });

  it.each([
    ['an expiry', expired([{ ARN: USER }]), 'User Expired'],
    ['a delete', deleted(USER), 'User Deleted'],
  ])('%s of a user Chime no longer has: marked gone and published', async (_, raw, type) => {
    const { result, marked, published } = await handle(raw, gone);
    expect(result).toMatchObject({ outcome: 'marked', tenantId: 'acme' });
    expect(marked).toEqual([['acme', 'u-1', at, expect.any(String)]]);
    expect(published.map((event) => event.type)).toEqual([type]);
  });

  it('believes no event time from the future: the user is marked gone when it was confirmed', async () => {
    const future = deleted(USER, { eventTime: '2100-01-01T00:00:00Z' });
    const { marked } = await handle({ ...future, time: '2100-01-01T00:00:00Z' }, gone);
    expect(marked).toEqual([['acme', 'u-1', at + 60_000, 'deleted']]);
  });

  it('fails, marking and publishing nothing, when Chime cannot say (403, throttling): the retries and the DLQ take it', async () => {
    for (const failure of [
      new ChimeCallError('DescribeAppInstanceUser', 'forbidden', 'ForbiddenException', 403),
      new ChimeCallError('DescribeAppInstanceUser', 'throttled', 'ThrottledClientException', 429),
    ]) {
      const { result, marked, published } = await handle(deleted(USER), async () => {
        throw failure;
      });
      expect(result).toBe(failure);
      expect(marked).toEqual([]);
      expect(published).toEqual([]);
    }
  });

  it("ignores an AppInstance no tenant's policy claims, without asking Chime", async () => {
    const { result, described, marked } = await handle(deleted(`${OTHER_APP}/user/u-1`), gone);
    expect(result).toEqual({ outcome: 'unmanaged-app-instance' });
    expect(described).toEqual([]);
    expect(marked).toEqual([]);
  });

  // Hand-made events naming no single well-formed user of an AppInstance: nothing is looked up at all.
  it.each([
    ['no ARN', deleted(undefined)],
    ['an AppInstance, not a user', deleted(APP)],
    ['a user id with a slash (another AppInstance inside)', deleted(`${APP}/user/x/user/u-1`)],
    ['an encoded slash in the user id', deleted(`${APP}/user/${encodeURIComponent('a/b')}`)],
    ['a user id of 65 characters', deleted(`${APP}/user/${'a'.repeat(65)}`)],
    ['a user id ending in a dash', deleted(`${APP}/user/u-`)],
    ['a bot ARN', deleted(`${APP}/bot/b-1`)],
    ['a user of a channel flow', deleted(`${APP}/channel-flow/f/user/u-1`)],
    ['another service', deleted('arn:aws:s3:::bucket/app-instance/app-1/user/u-1')],
    ['a 13-digit account', deleted('arn:aws:chime:us-east-1:1234567890123:app-instance/app-1/user/u-1')],
    ['two different users in one expiry', expired([{ ARN: USER }, { ARN: `${APP}/user/u-2` }])],
    ['no user in an expiry', expired([{ ARN: APP }])],
    ['a failed call', deleted(USER, { errorCode: 'NotFoundException' })],
    [
      'another operation',
      { ...deleted(USER), detail: { ...deleted(USER).detail, eventName: 'UpdateAppInstanceUser' } },
    ],
  ])('%s: not a removal', async (_, raw) => {
    const { result, claimed, described, marked, published } = await handle(raw, gone);
    expect(result).toEqual({ outcome: 'not-a-removal' });
    expect([claimed, described, marked, published]).toEqual([[], [], [], []]);
  });

  it('takes the same user named twice in an expiry as that user', async () => {
    const { result } = await handle(
      expired([{ ARN: USER }, { ARN: USER, type: 'AWS::Chime::AppInstanceUser' }]),
      gone,
    );
    expect(result).toMatchObject({ outcome: 'marked' });
  });
});

describe('parseUserArn', () => {
  const model = JSON.parse(readFileSync('emulator/model/chime-sdk-identity.json', 'utf8')) as {
    shapes: Record<string, { pattern: string; min: number; max: number }>;
  };
  const userId = model.shapes.UserId as { pattern: string; min: number; max: number };
  const byModel = (id: string) =>
    new RegExp(`^(?:${userId.pattern})$`).test(id) &&
    [...id].length >= userId.min &&
    [...id].length <= userId.max;

  it("accepts exactly the user ids the API model's UserId shape accepts", () => {
    const characters = fc.constantFrom(...'aZ09:-_.@/ %é'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: characters, minLength: 0, maxLength: 70 }), (id) => {
        expect(parseUserArn(`${APP}/user/${id}`) !== null, JSON.stringify(id)).toBe(byModel(id));
      }),
      { numRuns: 2_000 },
    );
  });

  it('splits a user ARN into its AppInstance and user id', () => {
    expect(parseUserArn(USER)).toEqual({ appInstanceArn: APP, appInstanceUserId: 'u-1' });
  });
});
