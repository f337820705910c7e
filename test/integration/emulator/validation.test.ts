import {
  BadRequestException,
  type ChimeSDKIdentityClient,
  CreateAppInstanceBotCommand,
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  ListAppInstanceUsersCommand,
  UnauthorizedClientException,
} from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChimeEmulator, startChimeEmulator } from '../../../emulator/index';
import { chimeClient, errorOf, rawApi } from './helpers';

let emulator: ChimeEmulator;
let client: ChimeSDKIdentityClient;
let appArn: string;

beforeAll(async () => {
  emulator = await startChimeEmulator({ port: 0, quotas: false });
  client = chimeClient(emulator.url);
  appArn = (await client.send(new CreateAppInstanceCommand({ Name: 'validation' }))).AppInstanceArn as string;
});
afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});

/** Sends a CreateAppInstanceUser with one field changed and returns the BadRequest message. */
async function createUserRejection(overrides: Record<string, unknown>): Promise<string> {
  const input = { AppInstanceArn: appArn, AppInstanceUserId: 'valid-user', Name: 'Valid', ...overrides };
  const error = await errorOf(client.send(new CreateAppInstanceUserCommand(input as never)));
  expect(error).toBeInstanceOf(BadRequestException);
  expect(error.$metadata?.httpStatusCode).toBe(400);
  expect((error as BadRequestException).Code).toBe('BadRequest');
  return error.message;
}

describe('model constraints', () => {
  it('rejects a missing required member', async () => {
    expect(await createUserRejection({ Name: undefined })).toBe('Name: is required');
  });

  it('rejects strings outside their length bounds', async () => {
    expect(await createUserRejection({ Name: '' })).toBe('Name: length must be between 1 and 100 characters');
    expect(await createUserRejection({ Metadata: 'x'.repeat(1025) })).toBe(
      'Metadata: length must be between 0 and 1024 characters',
    );
    expect(await createUserRejection({ AppInstanceUserId: 'a'.repeat(65) })).toMatch(
      /^AppInstanceUserId: length/,
    );
  });

  it('counts length in code points, not UTF-16 units', async () => {
    // 100 astral characters are 200 UTF-16 units but within UserName's 100-character maximum.
    const created = await client.send(
      new CreateAppInstanceUserCommand({
        AppInstanceArn: appArn,
        AppInstanceUserId: 'astral',
        Name: '😀'.repeat(100),
      }),
    );
    expect(created.AppInstanceUserArn).toBe(`${appArn}/user/astral`);
  });

  it('matches patterns as full matches', async () => {
    for (const badId of ['-starts-with-dash', 'ends-with-dash-', 'has space', 'slash/inside']) {
      expect(await createUserRejection({ AppInstanceUserId: badId })).toMatch(
        /^AppInstanceUserId: must match pattern \[A-Za-z0-9\]/,
      );
    }
    expect(await createUserRejection({ Name: '   ' })).toBe('Name: must match pattern .*\\S.*');
    expect(await createUserRejection({ ClientRequestToken: 'bad token!' })).toMatch(
      /^ClientRequestToken: must match/,
    );
    const control = await errorOf(client.send(new CreateAppInstanceCommand({ Name: 'bell\u0007' })));
    expect(control).toBeInstanceOf(BadRequestException);
    expect(control.message).toMatch(/^Name: must match pattern/);
    // Supplementary-plane characters are inside the translated \u{10000}-\u{10FFFF} range.
    const astral = await client.send(new CreateAppInstanceCommand({ Name: 'emoji 😀 𝄞' }));
    expect(astral.AppInstanceArn).toBeDefined();
  });

  it('rejects integers outside their range, naming the nested path', async () => {
    const message = await createUserRejection({
      ExpirationSettings: { ExpirationDays: 0, ExpirationCriterion: 'CREATED_TIMESTAMP' },
    });
    expect(message).toBe('ExpirationSettings.ExpirationDays: must be between 1 and 5475');
    expect(
      await createUserRejection({
        ExpirationSettings: { ExpirationDays: 5476, ExpirationCriterion: 'CREATED_TIMESTAMP' },
      }),
    ).toBe('ExpirationSettings.ExpirationDays: must be between 1 and 5475');
    const page = await errorOf(
      client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: appArn, MaxResults: 51 })),
    );
    expect(page.message).toBe('MaxResults: must be between 1 and 50');
  });

  it('rejects values outside an enum', async () => {
    const message = await createUserRejection({
      ExpirationSettings: { ExpirationDays: 3, ExpirationCriterion: 'LAST_LOGIN' },
    });
    expect(message).toBe('ExpirationSettings.ExpirationCriterion: must be one of CREATED_TIMESTAMP');
  });

  it('rejects lists outside their size bounds and invalid list items', async () => {
    expect(await createUserRejection({ Tags: [] })).toBe('Tags: must have between 1 and 50 items');
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    expect(await createUserRejection({ Tags: tooMany })).toBe('Tags: must have between 1 and 50 items');
    expect(await createUserRejection({ Tags: [{ Key: 'k' }] })).toBe('Tags[0].Value: is required');
  });

  it('validates nested structures (bot Configuration)', async () => {
    const error = await errorOf(
      client.send(
        new CreateAppInstanceBotCommand({
          AppInstanceArn: appArn,
          Configuration: { Lex: { LexBotAliasArn: 'arn:aws:lex:nope', LocaleId: 'en_US' } },
        }),
      ),
    );
    expect(error).toBeInstanceOf(BadRequestException);
    expect(error.message).toMatch(/^Configuration\.Lex\.LexBotAliasArn: must match pattern arn:aws:lex:/);
    const missingLocale = await errorOf(
      client.send(
        new CreateAppInstanceBotCommand({
          AppInstanceArn: appArn,
          Configuration: {
            Lex: { LexBotAliasArn: 'arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST' },
          } as never,
        }),
      ),
    );
    expect(missingLocale.message).toBe('Configuration.Lex.LocaleId: is required');
  });

  it('rejects a structurally wrong ARN with BadRequest', async () => {
    const error = await errorOf(
      client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: 'not-an-arn' })),
    );
    expect(error).toBeInstanceOf(BadRequestException);
    expect(error.message).toMatch(/^AppInstanceArn: must match pattern/);
    const wrongKind = await errorOf(
      client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: `${appArn}/user/someone` })),
    );
    expect(wrongKind).toBeInstanceOf(BadRequestException);
    expect(wrongKind.message).toContain('is not an AppInstance ARN');
  });
});

describe('bad input over HTTP', () => {
  it('answers malformed JSON, wrong types and non-object bodies with 400 in the error shape', async () => {
    const malformed = await rawApi(emulator.url, 'POST', '/app-instances', '{"Name": ');
    expect(malformed).toMatchObject({
      status: 400,
      errorType: 'BadRequestException',
      body: { Code: 'BadRequest' },
    });
    expect(String(malformed.body.Message)).toContain('malformed JSON');

    const wrongType = await rawApi(
      emulator.url,
      'POST',
      '/app-instances',
      JSON.stringify({ Name: 42, ClientRequestToken: 'abc' }),
    );
    expect(wrongType).toMatchObject({
      status: 400,
      body: { Code: 'BadRequest', Message: 'Name: must be a string' },
    });

    const notObject = await rawApi(emulator.url, 'POST', '/app-instances', '[1,2]');
    expect(notObject).toMatchObject({ status: 400, body: { Message: 'body: must be a JSON object' } });

    const badInteger = await rawApi(
      emulator.url,
      'GET',
      `/app-instance-users?app-instance-arn=${encodeURIComponent(appArn)}&max-results=ten`,
    );
    expect(badInteger).toMatchObject({ status: 400, body: { Message: 'MaxResults: must be an integer' } });
  });

  it('rejects a body over 1 MiB with 400 and keeps serving', async () => {
    const huge = JSON.stringify({
      Name: 'x',
      ClientRequestToken: 'abc',
      Metadata: 'y'.repeat(2 * 1024 * 1024),
    });
    const response = await rawApi(emulator.url, 'POST', '/app-instances', huge);
    expect(response).toMatchObject({ status: 400, errorType: 'BadRequestException' });
    expect(String(response.body.Message)).toContain('larger than');
    const alive = await client.send(new ListAppInstanceUsersCommand({ AppInstanceArn: appArn }));
    expect(alive.AppInstanceArn).toBe(appArn);
  });

  it('answers unknown routes with 404 NotFound naming the method and path', async () => {
    const response = await rawApi(emulator.url, 'GET', '/no-such-thing/here');
    expect(response).toMatchObject({
      status: 404,
      errorType: 'NotFoundException',
      body: { Code: 'NotFound', Message: 'no Chime SDK Identity operation matches GET /no-such-thing/here' },
    });
    const wrongMethod = await rawApi(emulator.url, 'PATCH', '/app-instances');
    expect(wrongMethod.status).toBe(404);
    const badEncoding = await rawApi(emulator.url, 'GET', '/app-instance-users/%E0%A4%A');
    expect(badEncoding).toMatchObject({ status: 400, errorType: 'BadRequestException' });
  });

  it('answers UnauthorizedClientException (401) when the request is not SigV4-signed', async () => {
    const unsigned = chimeClient(emulator.url);
    unsigned.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        delete request.headers.authorization;
        return next(args);
      },
      { step: 'deserialize', name: 'stripAuthorization' },
    );
    try {
      const error = await errorOf(unsigned.send(new ListAppInstanceUsersCommand({ AppInstanceArn: appArn })));
      expect(error).toBeInstanceOf(UnauthorizedClientException);
      expect(error.$metadata?.httpStatusCode).toBe(401);
    } finally {
      unsigned.destroy();
    }
  });
});
