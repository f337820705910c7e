import { describe, expect, it } from 'vitest';
import { EmulatorClock } from '../../../emulator/clock';
import { stateOf } from '../../../emulator/persistence';
import { ChimeIdentityService, DEFAULT_LIMITS, type OperationInput } from '../../../emulator/service';
import { stateProblem } from '../../../emulator/state-check';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const where = () => ({ region: REGION, accountId: ACCOUNT, nowMs: Date.now() });

const call = (target: ChimeIdentityService, operation: string, input: OperationInput) => {
  const handler = target.handlers[operation];
  if (!handler) throw new Error(`no handler ${operation}`);
  return handler(input) as Record<string, unknown>;
};

/** A state with every kind of record, as the emulator saves it (through the API, then JSON). */
function savedState(): Record<string, unknown> {
  const service = new ChimeIdentityService({
    region: REGION,
    accountId: ACCOUNT,
    expiryDelaySeconds: 21_600,
    limits: DEFAULT_LIMITS,
    clock: new EmulatorClock(),
  });
  const { AppInstanceArn } = call(service, 'CreateAppInstance', {
    Name: 'app',
    Metadata: 'meta',
    ClientRequestToken: 'app-token-1',
    Tags: [{ Key: 'team', Value: 'a' }],
  }) as { AppInstanceArn: string };
  const { AppInstanceUserArn } = call(service, 'CreateAppInstanceUser', {
    AppInstanceArn,
    AppInstanceUserId: 'u-1',
    Name: 'U',
    Metadata: '{"plan":"trial"}',
    ClientRequestToken: 'user-token-1',
    ExpirationSettings: { ExpirationDays: 5, ExpirationCriterion: 'CREATED_TIMESTAMP' },
    Tags: [{ Key: 'k', Value: 'v' }],
  }) as { AppInstanceUserArn: string };
  call(service, 'CreateAppInstanceUser', {
    AppInstanceArn,
    AppInstanceUserId: 'u-2',
    Name: 'V',
    ClientRequestToken: 'user-token-2',
  });
  call(service, 'RegisterAppInstanceUserEndpoint', {
    AppInstanceUserArn,
    Name: 'phone',
    Type: 'GCM',
    ResourceArn: 'arn:aws:mobiletargeting:us-east-1:111122223333:apps/x',
    EndpointAttributes: { DeviceToken: 'token' },
    ClientRequestToken: 'endpoint-token-1',
  });
  call(service, 'CreateAppInstanceBot', {
    AppInstanceArn,
    Name: 'bot',
    Configuration: {
      Lex: {
        LexBotAliasArn: 'arn:aws:lex:us-east-1:111122223333:bot-alias/ABCDEFGHIJ/KLMNOPQRST',
        LocaleId: 'en_US',
      },
    },
    ClientRequestToken: 'bot-token-1',
  });
  call(service, 'CreateAppInstanceAdmin', { AppInstanceArn, AppInstanceAdminArn: AppInstanceUserArn });
  call(service, 'PutAppInstanceRetentionSettings', {
    AppInstanceArn,
    AppInstanceRetentionSettings: { ChannelRetentionSettings: { RetentionDays: 10 } },
  });
  return JSON.parse(JSON.stringify(stateOf(service.snapshot(), 0))) as Record<string, unknown>;
}

type Path = readonly (string | number)[];

/** The state with one field set (or, with `undefined`, removed). */
function withField(path: Path, value: unknown): Record<string, unknown> {
  const state = savedState();
  let target = state as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return state;
}

const APP = ['service', 'appInstances', 0] as const;
const USER = [...APP, 'users', 0] as const;
const DAY = 86_400_000;
const appArn = () =>
  (savedState().service as { appInstances: { arn: string }[] }).appInstances[0]?.arn as string;

describe('a saved emulator state is held to the API model and to what the emulator writes', () => {
  it('accepts a state as the emulator saves it', () => {
    expect(stateProblem(savedState(), where())).toBeUndefined();
  });

  it.each<[string, Path, unknown, string]>([
    [
      'expiration days 0',
      [...USER, 'expirationDays'],
      0,
      'service.appInstances[0].users[0].expirationDays: must be between 1 and 5475',
    ],
    [
      'expiration days 5476',
      [...USER, 'expirationDays'],
      5476,
      'service.appInstances[0].users[0].expirationDays: must be between 1 and 5475',
    ],
    [
      'fractional expiration days',
      [...USER, 'expirationDays'],
      1.5,
      'service.appInstances[0].users[0].expirationDays: must be an integer',
    ],
    [
      'an expiration criterion the format does not have',
      [...USER, 'expirationCriterion'],
      'LAST_ACTIVE',
      'service.appInstances[0].users[0]: has a field the state format does not have ("expirationCriterion")',
    ],
    [
      'a user id with a slash',
      [...USER, 'id'],
      'a/b',
      'service.appInstances[0].users[0].id: must match pattern',
    ],
    [
      'a user id of 65 characters',
      [...USER, 'id'],
      'a'.repeat(65),
      'service.appInstances[0].users[0].id: length must be between 1 and 64 characters',
    ],
    [
      'an empty user name',
      [...USER, 'name'],
      '',
      'service.appInstances[0].users[0].name: length must be between 1 and 100 characters',
    ],
    [
      'metadata over 1,024 characters',
      [...USER, 'metadata'],
      'm'.repeat(1025),
      'service.appInstances[0].users[0].metadata: length must be between 0 and 1024 characters',
    ],
    [
      'a user created in the future',
      [...USER, 'createdMs'],
      Date.now() + 10 * DAY,
      'service.appInstances[0].users[0].createdMs: must be between 1970-01-01T00:00:00.000Z and the emulator',
    ],
    [
      'a user updated before its creation',
      [...USER, 'updatedMs'],
      1,
      'service.appInstances[0].users[0].updatedMs: must be between',
    ],
    [
      'a creation time that is no number',
      [...USER, 'createdMs'],
      '2026-01-01',
      'service.appInstances[0].users[0].createdMs: must be an integer (epoch ms)',
    ],
    [
      'a user without a name',
      [...USER, 'name'],
      undefined,
      'service.appInstances[0].users[0].name: is required',
    ],
    [
      'a tag with an empty key',
      [...USER, 'tags'],
      [{ Key: '', Value: 'v' }],
      'service.appInstances[0].users[0].tags[0].Key: length must be between 1 and 128 characters',
    ],
    [
      'an AppInstance ARN of another partition',
      [...APP, 'arn'],
      'arn:aws-cn:chime:cn-north-1:111122223333:app-instance/x',
      'service.appInstances[0].arn: must be an ARN of the aws partition, a Region (such as us-east-1) and a 12-digit account',
    ],
    [
      'an AppInstance ARN whose account is not 12 digits',
      [...APP, 'arn'],
      'arn:aws:chime:us-east-1:own:app-instance/x',
      'service.appInstances[0].arn: must be an ARN of the aws partition, a Region (such as us-east-1) and a 12-digit account',
    ],
    [
      'an AppInstance ARN that is a user ARN',
      [...APP, 'arn'],
      'arn:aws:chime:us-east-1:111122223333:app-instance/x/user/u',
      'service.appInstances[0].arn: must be the ARN of an app-instance',
    ],
    [
      'an AppInstance ARN of 1,601 characters',
      [...APP, 'arn'],
      `arn:aws:chime:us-east-1:111122223333:app-instance/${'x'.repeat(1560)}`,
      'service.appInstances[0].arn: length must be between 5 and 1600 characters',
    ],
    [
      'an empty AppInstance name',
      [...APP, 'name'],
      '',
      'service.appInstances[0].name: length must be between 1 and 256 characters',
    ],
    [
      'a retention of 0 days',
      [...APP, 'retention', 'settings', 'ChannelRetentionSettings', 'RetentionDays'],
      0,
      'service.appInstances[0].retention.settings.ChannelRetentionSettings.RetentionDays: must be between 1 and 5475',
    ],
    [
      'an endpoint of an unknown type',
      [...USER, 'endpoints', 0, 'type'],
      'PIGEON',
      'service.appInstances[0].users[0].endpoints[0].type: must be one of',
    ],
    [
      'an endpoint attribute the model does not have',
      [...USER, 'endpoints', 0, 'attributes', 'Extra'],
      'x',
      'service.appInstances[0].users[0].endpoints[0].attributes: has a member the API model does not have ("Extra")',
    ],
    [
      'a bot whose id is not its ARN',
      [...APP, 'bots', 0, 'botId'],
      'other',
      'service.appInstances[0].bots[0].botId: must be the id its ARN ends with',
    ],
    [
      'an admin of another AppInstance',
      [...APP, 'admins', 0, 0],
      'arn:aws:chime:us-east-1:111122223333:app-instance/other/user/u-1',
      'service.appInstances[0].admins[0][0]: must belong to the AppInstance it is listed under',
    ],
    [
      'a token of an operation without ClientRequestToken',
      ['service', 'idempotencyTokens', 0, 0],
      'DeleteAppInstance app-token-1',
      'service.idempotencyTokens[0][0]: must name an operation that takes a ClientRequestToken',
    ],
    [
      'a remembered result the operation cannot give',
      ['service', 'idempotencyTokens', 0, 1, 'result'],
      { AppInstanceArn: 7 },
      'service.idempotencyTokens[0][1].result.AppInstanceArn: must be a string',
    ],
    [
      'a clock offset past the year 9999',
      ['clockOffsetMs'],
      1e20,
      'clockOffsetMs: must keep the emulator clock between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z',
    ],
    [
      'a clock offset before 1970',
      ['clockOffsetMs'],
      -Date.now() - DAY,
      'clockOffsetMs: must keep the emulator clock between',
    ],
    ['a clock offset that is no number', ['clockOffsetMs'], 'soon', 'clockOffsetMs: must be an integer'],
    [
      'a saving time in the future',
      ['savedAt'],
      '2999-01-01T00:00:00Z',
      'savedAt: must be an ISO 8601 date-time no later than now',
    ],
    ['another format', ['format'], 'something-else', 'format: must be chime-sdk-identity-emulator-state'],
    ['another version', ['version'], 2, 'version: must be 1'],
    ['no service', ['service'], undefined, '(file).service: is required'],
  ])('refuses %s, naming its JSON path', (_what, path, value, expected) => {
    const problem = stateProblem(withField(path, value), where());
    expect(problem).toBeDefined();
    expect(problem?.startsWith(expected), problem).toBe(true);
  });

  it('refuses a user listed twice and an AppInstance listed twice', () => {
    const twiceUser = savedState();
    const app = (twiceUser.service as { appInstances: { users: unknown[] }[] }).appInstances[0];
    app?.users.push(app.users[0]);
    expect(stateProblem(twiceUser, where())).toMatch(
      /^service\.appInstances\[0\]\.users\[2\]\.id: the same user appears more than once/,
    );
    const twiceApp = savedState();
    const service = twiceApp.service as { appInstances: unknown[] };
    service.appInstances.push(service.appInstances[0]);
    expect(stateProblem(twiceApp, where())).toMatch(
      /^service\.appInstances\[1\]\.arn: the same AppInstance appears more than once/,
    );
  });

  it("never quotes the value it refuses (a name or metadata is a user's data)", () => {
    const secret = 'Jane Doe, jane@example.com';
    const problem = stateProblem(withField([...USER, 'name'], `${secret}${'x'.repeat(100)}`), where());
    expect(problem).toMatch(/name: length must be/);
    expect(problem).not.toContain('Jane');
  });

  it('names an unknown key only when it is a plain name: a hand-edited key may hold control sequences', () => {
    const problem = stateProblem(withField([...USER, '\u001b]52;c;aGk=\u0007'], 1), where());
    expect(problem).toBe(
      'service.appInstances[0].users[0]: has a field the state format does not have (a key that is not a plain name)',
    );
  });

  it('checks timestamps against the emulator clock the file keeps: a moved clock keeps its users valid', () => {
    const state = withField([...USER, 'createdMs'], Date.now() + 10 * DAY);
    state.clockOffsetMs = 20 * DAY;
    state.savedAt = new Date().toISOString();
    const updated = (state.service as { appInstances: { users: { updatedMs: number }[] }[] }).appInstances[0]
      ?.users[0] as { updatedMs: number };
    updated.updatedMs = Date.now() + 10 * DAY;
    expect(stateProblem(state, where())).toBeUndefined();
    expect(appArn()).toMatch(/^arn:aws:chime:us-east-1:111122223333:app-instance\//);
  });
});
