import {
  type ChimeSDKIdentityClient,
  CreateAppInstanceCommand,
  DeleteAppInstanceUserCommand,
  DescribeAppInstanceCommand,
  ForbiddenException,
  ListAppInstancesCommand,
  NotFoundException,
  ThrottledClientException,
} from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudTrailEntry, startChimeEmulator } from '../../../emulator/index';
import type { ChimeEmulator } from '../../../emulator/server';
import { admin, chimeClient, errorOf } from './helpers';

/** Keys of this form belong to the account they name (what the local STS's role credentials do). */
const ROLE_KEY = 'ASIA444455556666ABCD';
const accountOf = (key: string) => (key.startsWith('ASIA') ? key.slice(4, 16) : undefined);

let emulator: ChimeEmulator;
const trail: CloudTrailEntry[] = [];
const clients: ChimeSDKIdentityClient[] = [];

function client(region: string, accessKeyId = 'test'): ChimeSDKIdentityClient {
  const created = chimeClient(emulator.url, { region, credentials: { accessKeyId, secretAccessKey: 's' } });
  clients.push(created);
  return created;
}

beforeAll(async () => {
  emulator = await startChimeEmulator({
    port: 0,
    quotaScale: 0.2,
    accountOfAccessKey: accountOf,
    cloudTrailEvents: (entry) => trail.push(entry),
  });
});
afterAll(async () => {
  for (const created of clients) created.destroy();
  await emulator?.close();
});

describe('one emulator for both Regions and any account', () => {
  it('creates an AppInstance in the Region the request was signed for, visible there only', async () => {
    const eu = client('eu-central-1');
    const { AppInstanceArn: arn } = await eu.send(
      new CreateAppInstanceCommand({ Name: 'eu', ClientRequestToken: 'eu-1' }),
    );
    expect(arn).toMatch(/^arn:aws:chime:eu-central-1:111122223333:app-instance\//);
    const described = await eu.send(new DescribeAppInstanceCommand({ AppInstanceArn: arn }));
    expect(described.AppInstance?.AppInstanceArn).toBe(arn);
    // us-east-1's endpoint does not know eu-central-1's AppInstances.
    const fromUs = await errorOf(
      client('us-east-1').send(new DescribeAppInstanceCommand({ AppInstanceArn: arn })),
    );
    expect(fromUs).toBeInstanceOf(NotFoundException);
    expect(fromUs.message).toContain('does not exist in us-east-1');
  });

  it("acts in the account of the request's access key: its AppInstances are nobody else's", async () => {
    const role = client('us-east-1', ROLE_KEY);
    const { AppInstanceArn: arn } = await role.send(
      new CreateAppInstanceCommand({ Name: 'b', ClientRequestToken: 'b-1' }),
    );
    expect(arn).toMatch(/^arn:aws:chime:us-east-1:444455556666:app-instance\//);
    await expect(role.send(new DescribeAppInstanceCommand({ AppInstanceArn: arn }))).resolves.toBeDefined();
    const own = await errorOf(
      client('us-east-1').send(new DescribeAppInstanceCommand({ AppInstanceArn: arn })),
    );
    expect(own).toBeInstanceOf(ForbiddenException);
    expect(own.message).toContain("the caller's credentials are of account 111122223333");
  });

  it('counts the account-wide quotas per account and Region', async () => {
    // quotaScale 0.2: ListAppInstances 2 rps per account and Region, a burst of 2.
    const burst = async (sender: ChimeSDKIdentityClient) => {
      const results = await Promise.allSettled(
        Array.from({ length: 3 }, () => sender.send(new ListAppInstancesCommand({}))),
      );
      return results.map((result) =>
        result.status === 'fulfilled'
          ? 'ok'
          : result.reason instanceof ThrottledClientException
            ? 429
            : 'error',
      );
    };
    const us = await burst(client('us-east-1'));
    const eu = await burst(client('eu-central-1'));
    const other = await burst(client('us-east-1', ROLE_KEY));
    for (const answers of [us, eu, other]) {
      expect(answers.filter((answer) => answer === 'ok').length).toBeGreaterThanOrEqual(2);
    }
    expect(us).toContain(429);
  });

  it('logs every call with its access key, Region, account, AppInstance and status', async () => {
    const seeded = emulator.seed({
      appInstanceName: 'logged',
      region: 'eu-central-1',
      accountId: '444455556666',
      users: [{ appInstanceUserId: 'u1', name: 'U' }],
    });
    expect(seeded.appInstanceArn).toMatch(/^arn:aws:chime:eu-central-1:444455556666:/);
    const role = client('eu-central-1', ROLE_KEY);
    await role.send(new DescribeAppInstanceCommand({ AppInstanceArn: seeded.appInstanceArn }));
    await errorOf(
      client('eu-central-1').send(new DescribeAppInstanceCommand({ AppInstanceArn: seeded.appInstanceArn })),
    );
    const { body } = await admin<{ calls: Record<string, unknown>[] }>(emulator.url, 'GET', 'calls');
    const mine = body.calls.filter((call) => call.appInstanceArn === seeded.appInstanceArn);
    expect(mine).toEqual([
      expect.objectContaining({
        operation: 'DescribeAppInstance',
        accessKeyId: ROLE_KEY,
        region: 'eu-central-1',
        account: '444455556666',
        status: 200,
      }),
      expect.objectContaining({ accessKeyId: 'test', account: '111122223333', status: 403 }),
    ]);
    expect(emulator.calls().at(-1)).toEqual(mine[1]);
  });

  it("reports a deletion to CloudTrail in its AppInstance's Region and account", async () => {
    const seeded = emulator.seed({
      region: 'eu-central-1',
      accountId: '444455556666',
      users: [{ appInstanceUserId: 'gone', name: 'G' }],
    });
    await client('eu-central-1', ROLE_KEY).send(
      new DeleteAppInstanceUserCommand({ AppInstanceUserArn: seeded.userArns[0] }),
    );
    const entry = trail.find((candidate) => candidate.Detail.includes(seeded.userArns[0] as string));
    const detail = JSON.parse(entry?.Detail ?? '{}') as { awsRegion?: string; recipientAccountId?: string };
    expect(detail).toMatchObject({ awsRegion: 'eu-central-1', recipientAccountId: '444455556666' });
  });

  it('refuses a seed Region or account it cannot place', async () => {
    const badRegion = await admin(emulator.url, 'POST', 'seed', { region: 'Frankfurt', users: [] });
    expect(badRegion.status).toBe(400);
    expect(JSON.stringify(badRegion.body)).toContain('region: must be a Region name');
    const withArn = await admin(emulator.url, 'POST', 'seed', {
      appInstanceArn: 'arn:aws:chime:us-east-1:111122223333:app-instance/x',
      accountId: '444455556666',
      users: [],
    });
    expect(withArn.status).toBe(400);
  });
});
