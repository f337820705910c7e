import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ChimeEmulator, startChimeEmulator } from '../../../emulator/index';
import {
  accountOfLocalAccessKey,
  type LocalSts,
  localAccessKeyId,
  startLocalSts,
} from '../../../local/sts-server';
import { ChimeAccessError } from '../../../shared/chime/assumed-roles';
import { Runtime } from '../../../shared/composition-root';
import { isRetryable } from '../../../shared/errors';
import { uniqueConfig } from '../../support/stack';

/**
 * The Chime client a tenant's calls go through, against the emulator and a local STS: the Region its
 * AppInstance ARN names, the role its policy's `access` names (assumed once, then reused until shortly
 * before the credentials expire), and the process's own credentials for everyone else.
 */

const ROLE_B = 'arn:aws:iam::444455556666:role/chime-lifecycle-tenant';
const EXTERNAL_ID = 'tenant-b-7f3a';

let emulator: ChimeEmulator;
let sts: LocalSts;
let shortLived: LocalSts;
const runtimes: Runtime[] = [];

function runtime(stsUrl = sts.url): Runtime {
  const created = new Runtime(uniqueConfig({ quotaScale: 50, quotaCoordination: false }), {
    endpoints: { chime: emulator.url, sts: stsUrl },
  });
  runtimes.push(created);
  return created;
}

function seed(region: string, accountId: string, id: string): string {
  return emulator.seed({ region, accountId, users: [{ appInstanceUserId: id, name: 'User' }] })
    .appInstanceArn;
}

beforeAll(async () => {
  emulator = await startChimeEmulator({
    port: 0,
    quotaScale: 50,
    accountOfAccessKey: accountOfLocalAccessKey,
  });
  sts = await startLocalSts({ roles: { [ROLE_B]: EXTERNAL_ID } });
  // Credentials that expire within the SDK's 5-minute refresh window: every call must assume again.
  shortLived = await startLocalSts({ roles: { [ROLE_B]: EXTERNAL_ID }, durationSeconds: 60 });
});
afterEach(() => {
  for (const created of runtimes.splice(0)) created.destroy();
});
afterAll(async () => {
  await emulator?.close();
  await sts?.close();
  await shortLived?.close();
});

describe("a tenant's Chime client", () => {
  it("calls each AppInstance in its own Region, with the tenant's role only where its policy says so", async () => {
    const us = seed('us-east-1', '111122223333', 'a-1');
    const eu = seed('eu-central-1', '111122223333', 'e-1');
    const other = seed('eu-central-1', '444455556666', 'b-1');
    const rt = runtime();
    rt.chimeAccess.note({ appInstanceArn: us });
    rt.chimeAccess.note({ appInstanceArn: eu });
    rt.chimeAccess.note({ appInstanceArn: other, access: { roleArn: ROLE_B, externalId: EXTERNAL_ID } });
    const before = emulator.calls().length;
    for (const [arn, id] of [
      [us, 'a-1'],
      [eu, 'e-1'],
      [other, 'b-1'],
    ] as const) {
      expect(await rt.chimeUsers.describe(`${arn}/user/${id}`)).toMatchObject({ appInstanceUserId: id });
    }
    const calls = emulator.calls().slice(before);
    expect(
      calls.map(({ appInstanceArn, region, accessKeyId }) => ({ appInstanceArn, region, accessKeyId })),
    ).toEqual([
      { appInstanceArn: us, region: 'us-east-1', accessKeyId: 'test' },
      { appInstanceArn: eu, region: 'eu-central-1', accessKeyId: 'test' },
      { appInstanceArn: other, region: 'eu-central-1', accessKeyId: localAccessKeyId(ROLE_B) },
    ]);
  });

  it('assumes the role once and reuses its credentials while they are fresh', async () => {
    const other = seed('us-east-1', '444455556666', 'b-2');
    const rt = runtime();
    rt.chimeAccess.note({ appInstanceArn: other, access: { roleArn: ROLE_B, externalId: EXTERNAL_ID } });
    const assumedBefore = sts.assumed()[ROLE_B] ?? 0;
    for (let index = 0; index < 5; index++) await rt.chimeUsers.describe(`${other}/user/b-2`);
    expect((sts.assumed()[ROLE_B] ?? 0) - assumedBefore).toBe(1);
  });

  it('assumes the role again once its credentials are within 5 minutes of expiring', async () => {
    const other = seed('us-east-1', '444455556666', 'b-3');
    const rt = runtime(shortLived.url);
    rt.chimeAccess.note({ appInstanceArn: other, access: { roleArn: ROLE_B, externalId: EXTERNAL_ID } });
    for (let index = 0; index < 3; index++) await rt.chimeUsers.describe(`${other}/user/b-3`);
    // At least once per call (the SDK may resolve the identity more than once per request).
    expect(shortLived.assumed()[ROLE_B]).toBeGreaterThanOrEqual(3);
  });

  it('fails for good, naming the role and not the external id, when the role refuses us', async () => {
    const other = seed('us-east-1', '444455556666', 'b-4');
    const rt = runtime();
    rt.chimeAccess.note({ appInstanceArn: other, access: { roleArn: ROLE_B, externalId: 'not-the-one' } });
    const error = await rt.chimeUserPort.describe(`${other}/user/b-4`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChimeAccessError);
    expect(isRetryable(error)).toBe(false);
    expect((error as Error).message).toContain(`could not assume ${ROLE_B}`);
    expect((error as Error).message).toContain('AccessDenied (HTTP 403)');
    expect((error as Error).message).not.toContain('not-the-one');
  });

  it('gets from the local STS only what STS would give: AssumeRole of a well-formed, trusted role', async () => {
    const client = new STSClient({
      region: 'us-east-1',
      endpoint: sts.url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    try {
      const assumed = await client.send(
        new AssumeRoleCommand({
          RoleArn: ROLE_B,
          RoleSessionName: 'test',
          ExternalId: EXTERNAL_ID,
          DurationSeconds: 900,
        }),
      );
      expect(assumed.Credentials?.AccessKeyId).toBe(localAccessKeyId(ROLE_B));
      expect(accountOfLocalAccessKey(assumed.Credentials?.AccessKeyId ?? '')).toBe('444455556666');
      const lifetime = (assumed.Credentials?.Expiration?.getTime() ?? 0) - Date.now();
      expect(lifetime).toBeGreaterThan(850_000);
      expect(lifetime).toBeLessThanOrEqual(900_000);
      expect(assumed.AssumedRoleUser?.Arn).toBe(
        'arn:aws:sts::444455556666:assumed-role/chime-lifecycle-tenant/test',
      );
      const refusals = await Promise.all(
        [
          {
            RoleArn: 'arn:aws:iam::444455556666:user/alice',
            RoleSessionName: 'test',
            ExternalId: EXTERNAL_ID,
          },
          { RoleArn: ROLE_B, RoleSessionName: 'a b', ExternalId: EXTERNAL_ID },
          {
            RoleArn: 'arn:aws:iam::444455556666:role/other',
            RoleSessionName: 'test',
            ExternalId: EXTERNAL_ID,
          },
        ].map((input) => client.send(new AssumeRoleCommand(input)).catch((error: Error) => error.name)),
      );
      expect(refusals).toEqual(['ValidationError', 'ValidationError', 'AccessDenied']);
      expect(accountOfLocalAccessKey('AKIAIOSFODNN7EXAMPLE')).toBeUndefined();
    } finally {
      client.destroy();
    }
  });

  it("refuses a call on another account's AppInstance made with the process's own credentials", async () => {
    const other = seed('us-east-1', '444455556666', 'b-5');
    const rt = runtime();
    const error = await rt.chimeUserPort.describe(`${other}/user/b-5`).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'ChimeCallError', kind: 'forbidden' });
  });
});
