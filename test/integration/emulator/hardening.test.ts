import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type ChimeSDKIdentityClient,
  CreateAppInstanceCommand,
  CreateAppInstanceUserCommand,
  DescribeAppInstanceUserCommand,
  ListAppInstanceUsersCommand,
  PutAppInstanceUserExpirationSettingsCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ChimeEmulator, startChimeEmulator } from '../../../emulator/index';
import { admin, chimeClient, rawApi } from './helpers';

let emulator: ChimeEmulator;
let client: ChimeSDKIdentityClient;

beforeAll(async () => {
  emulator = await startChimeEmulator({ port: 0, quotas: false, limits: { usersPerAppInstance: 5 } });
  client = chimeClient(emulator.url);
});
afterAll(async () => {
  client?.destroy();
  await emulator?.close();
});

interface Health {
  ok: boolean;
  appInstances: number;
  users: number;
  now: string;
}

/** Sends raw bytes on a fresh connection and returns everything the server wrote before closing. */
function rawExchange(bytes: string, host: string, port: number, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; received: ${received.slice(0, 300)}`));
    }, timeoutMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {
      // A reset after the answer still counts as closed; what matters is what was written.
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(bytes, 'latin1');
  });
}

/** Status, error type and body of a raw HTTP/1.1 answer. */
function parseAnswer(raw: string): {
  status: number;
  errorType: string | undefined;
  body: { Code?: string; Message?: string };
} {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const errorType = /\r\nx-amzn-errortype: ([^\r\n]+)/i.exec(head)?.[1];
  return { status, errorType, body: body ? (JSON.parse(body) as { Code?: string; Message?: string }) : {} };
}

describe('admin inputs are bounded, and a refused request changes nothing', () => {
  afterEach(async () => {
    await admin(emulator.url, 'POST', 'reset');
  });

  it('refuses clock moves that would leave the sane range, naming the field, and keeps the clock', async () => {
    const seeded = emulator.seed({
      appInstanceName: 'clock',
      users: [{ appInstanceUserId: 'u1', name: 'U', expirationDays: 30 }],
    });
    const before = (await admin<{ epochSeconds: number }>(emulator.url, 'GET', 'clock')).body.epochSeconds;
    const probes: [Record<string, unknown>, string][] = [
      [{ advanceSeconds: 1e308 }, 'advanceSeconds'],
      [{ advanceSeconds: 300_000_000_000 }, 'advanceSeconds'],
      [{ advanceSeconds: -1 }, 'advanceSeconds'],
      [{ advanceSeconds: '60' }, 'advanceSeconds'],
      [{ now: '+275760-09-13T00:00:00.000Z' }, 'now'],
      [{ now: '10000-01-01T00:00:00Z' }, 'now'],
      [{ now: '1969-12-31T23:59:59Z' }, 'now'],
      [{ now: 'Tue, 01 Dec 2026 10:00:00 GMT' }, 'now'],
      [{ now: 1_900_000_000 }, 'now'],
    ];
    for (const [body, field] of probes) {
      const response = await admin<{ Code: string; Message: string }>(emulator.url, 'POST', 'clock', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get('x-amzn-errortype')).toBe('BadRequestException');
      expect(response.body.Message.startsWith(`${field}: `), response.body.Message).toBe(true);
    }
    const health = await admin<Health>(emulator.url, 'GET', 'health');
    expect(health.status).toBe(200);
    expect(health.body.users).toBe(1);
    const after = (await admin<{ epochSeconds: number }>(emulator.url, 'GET', 'clock')).body.epochSeconds;
    // Only real time passed.
    expect(after - before).toBeGreaterThanOrEqual(0);
    expect(after - before).toBeLessThan(60);
    const user = await client.send(
      new DescribeAppInstanceUserCommand({ AppInstanceUserArn: seeded.userArns[0] }),
    );
    expect(user.AppInstanceUser?.ExpirationSettings?.ExpirationDays).toBe(30);
  });

  it('accepts the edges of the range: an ISO date, an offset, the last day of 9999', async () => {
    for (const now of ['2030-01-01', '2030-01-01T08:00:00+02:00', '9999-12-31T00:00:00Z']) {
      const moved = await admin<{ now: string }>(emulator.url, 'POST', 'clock', { now });
      expect(moved.status, now).toBe(200);
      expect(Date.parse(moved.body.now)).toBeGreaterThanOrEqual(Date.parse(now));
    }
    expect((await admin(emulator.url, 'GET', 'health')).status).toBe(200);
  });

  it('refuses seeded createdAt values out of range or in the future, naming the user', async () => {
    for (const createdAt of [1e300, -1, '+275760-09-13T00:00:00.000Z', '2999-01-01T00:00:00Z', Date.now()]) {
      const response = await admin<{ Message: string }>(emulator.url, 'POST', 'seed', {
        appInstanceName: 'bad-created',
        users: [
          { appInstanceUserId: 'fine', name: 'F' },
          { appInstanceUserId: 'odd', name: 'O', createdAt },
        ],
      });
      expect(response.status, String(createdAt)).toBe(400);
      expect(response.body.Message).toMatch(
        /^users\[1\]\.createdAt: must be an ISO 8601 date-time or epoch seconds/,
      );
    }
    const health = await admin<Health>(emulator.url, 'GET', 'health');
    expect(health.body).toMatchObject({ appInstances: 0, users: 0 });
  });

  it('a seed over the users-per-AppInstance limit leaves no AppInstance behind', async () => {
    const users = Array.from({ length: 6 }, (_, i) => ({ appInstanceUserId: `u${i}`, name: 'U' }));
    const response = await admin<{ Code: string }>(emulator.url, 'POST', 'seed', {
      appInstanceName: 'big',
      users,
    });
    expect(response.status).toBe(400);
    expect(response.body.Code).toBe('ResourceLimitExceeded');
    expect((await admin<Health>(emulator.url, 'GET', 'health')).body).toMatchObject({
      appInstances: 0,
      users: 0,
    });
  });
});

describe('malformed HTTP gets the modelled error shape', () => {
  const send = (bytes: string) => rawExchange(bytes, emulator.host, emulator.port).then(parseAnswer);

  it.each([
    ['an unknown method', 'FROB / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['garbage', '\u0001\u0002garbage\r\n\r\n'],
    [
      'Content-Length together with Transfer-Encoding',
      'POST /app-instances HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['a bad header line', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
  ])('%s: 400 BadRequestException in JSON, then the connection closes', async (_name, bytes) => {
    const answer = await send(bytes);
    expect(answer.status).toBe(400);
    expect(answer.errorType).toBe('BadRequestException');
    expect(answer.body.Code).toBe('BadRequest');
    expect(answer.body.Message).toMatch(/^malformed HTTP request \(HPE_/);
  });

  it('a body longer than its Content-Length: the excess is answered as malformed and the connection closed', async () => {
    const answer = await send(
      'POST /_emulator/sweep HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}GARBAGE\r\n\r\n',
    );
    expect(answer.status).toBe(400);
    expect(answer.errorType).toBe('BadRequestException');
    expect(answer.body.Message).toMatch(/^malformed HTTP request \(HPE_/);
  });

  it('a 60 KB path: 431 in the error shape', async () => {
    const answer = await send(`GET /${'a'.repeat(60_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer.status).toBe(431);
    expect(answer.errorType).toBe('BadRequestException');
    expect(answer.body.Message).toBe('the request headers are too large');
  });

  it('CONNECT gets a 404 NotFoundException answer instead of a silent close', async () => {
    const answer = await send('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer.status).toBe(404);
    expect(answer.errorType).toBe('NotFoundException');
    expect(answer.body.Message).toBe('no Chime SDK Identity operation matches CONNECT example.com:443');
  });

  it('a client that never finishes its headers is answered 408 and dropped after the 10 s header timeout', async () => {
    const answer = await send('GET /_emulator/health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(answer.status).toBe(408);
    expect(answer.errorType).toBe('BadRequestException');
    // The emulator still serves everyone else.
    expect((await admin(emulator.url, 'GET', 'health')).status).toBe(200);
  }, 30_000);
});

describe('Content-Type', () => {
  afterEach(async () => {
    await admin(emulator.url, 'POST', 'reset');
  });

  it('is not consulted: a JSON body is read whatever the header says, or with none', async () => {
    for (const [index, type] of [
      'application/json',
      'application/json; charset=utf-8',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      undefined,
    ].entries()) {
      const body = JSON.stringify({ Name: `t${index}`, ClientRequestToken: `content-type-token-${index}` });
      const response = await fetch(`${emulator.url}/app-instances`, {
        method: 'POST',
        headers: {
          authorization:
            'AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/chime/aws4_request, Signature=0',
          ...(type === undefined ? {} : { 'content-type': type }),
        },
        // A Uint8Array body gets no Content-Type from fetch, so "missing" really is missing.
        body: new TextEncoder().encode(body),
      });
      expect(response.status, String(type)).toBe(201);
    }
    expect((await admin<Health>(emulator.url, 'GET', 'health')).body.appInstances).toBe(5);
  });

  it('a body that is not JSON gets a 400 whatever its declared type, and changes nothing', async () => {
    for (const type of ['application/json', 'application/x-www-form-urlencoded']) {
      const response = await rawApi(emulator.url, 'POST', '/app-instances', 'Name=t&ClientRequestToken=x', {
        'content-type': type,
      });
      expect(response.status, type).toBe(400);
      expect(response.errorType).toBe('BadRequestException');
      expect(String(response.body.Message)).toMatch(/^body: malformed JSON/);
    }
    expect((await admin<Health>(emulator.url, 'GET', 'health')).body.appInstances).toBe(0);
  });
});

describe('kept state (stateFile)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'emulator-state-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('comes back with its AppInstances, users, expirations, tokens and clock after a restart', async () => {
    const stateFile = path.join(dir, 'state.json');
    const first = await startChimeEmulator({ port: 0, stateFile, saveIntervalMs: 50 });
    const sdk = chimeClient(first.url);
    const { AppInstanceArn } = await sdk.send(
      new CreateAppInstanceCommand({ Name: 'kept', ClientRequestToken: 'kept-app-token' }),
    );
    const { AppInstanceUserArn } = await sdk.send(
      new CreateAppInstanceUserCommand({
        AppInstanceArn,
        AppInstanceUserId: 'keep-me',
        Name: 'K',
        Metadata: '{"plan":"trial"}',
        ClientRequestToken: 'kept-user-token',
      }),
    );
    await sdk.send(
      new PutAppInstanceUserExpirationSettingsCommand({
        AppInstanceUserArn,
        ExpirationSettings: { ExpirationDays: 9, ExpirationCriterion: 'CREATED_TIMESTAMP' },
      }),
    );
    first.advanceClock(86_400);
    const clockBefore = first.now().getTime();
    // Saved within the interval, without a close: what a SIGKILL would leave.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const snapshot = await readFile(stateFile, 'utf8');
    sdk.destroy();
    await first.close();
    await writeFile(stateFile, snapshot);

    const second = await startChimeEmulator({ port: 0, stateFile });
    const again = chimeClient(second.url);
    try {
      expect(second.restored).toBe(true);
      const { AppInstanceUser } = await again.send(
        new DescribeAppInstanceUserCommand({ AppInstanceUserArn }),
      );
      expect(AppInstanceUser).toMatchObject({
        Name: 'K',
        Metadata: '{"plan":"trial"}',
        ExpirationSettings: { ExpirationDays: 9 },
      });
      const listed = await again.send(new ListAppInstanceUsersCommand({ AppInstanceArn }));
      expect(listed.AppInstanceUsers?.map((user) => user.AppInstanceUserArn)).toEqual([AppInstanceUserArn]);
      // The same token with the same parameters still answers the first result.
      const repeated = await again.send(
        new CreateAppInstanceCommand({ Name: 'kept', ClientRequestToken: 'kept-app-token' }),
      );
      expect(repeated.AppInstanceArn).toBe(AppInstanceArn);
      expect(Math.abs(second.now().getTime() - clockBefore)).toBeLessThan(60_000);
    } finally {
      again.destroy();
      await second.close();
    }
  });

  it('saves a write whose body arrives after a save: the change counts once it has run, not when it arrived', async () => {
    const stateFile = path.join(dir, 'slow-body.json');
    const first = await startChimeEmulator({ port: 0, stateFile, saveIntervalMs: 20 });
    const sdk = chimeClient(first.url);
    try {
      const { AppInstanceArn } = await sdk.send(new CreateAppInstanceCommand({ Name: 'slow' }));
      const { AppInstanceUserArn = '' } = await sdk.send(
        new CreateAppInstanceUserCommand({ AppInstanceArn, AppInstanceUserId: 'slow-1', Name: 'S' }),
      );
      const body = JSON.stringify({
        ExpirationSettings: { ExpirationDays: 11, ExpirationCriterion: 'CREATED_TIMESTAMP' },
      });
      const socket = connect(first.port, first.host);
      await new Promise((resolve) => socket.once('connect', resolve));
      const answered = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.includes('\r\n\r\n')) resolve(text);
        });
      });
      socket.write(
        `PUT /app-instance-users/${encodeURIComponent(AppInstanceUserArn)}/expiration-settings HTTP/1.1\r\n` +
          `Host: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=local\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      // Several save ticks pass between the request's headers and its body.
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.write(body);
      expect(await answered).toMatch(/^HTTP\/1\.1 200/);
      socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const saved = JSON.parse(await readFile(stateFile, 'utf8')) as {
        service: { appInstances: { users: { id: string; expirationDays?: number }[] }[] };
      };
      expect(saved.service.appInstances[0]?.users[0]).toMatchObject({ id: 'slow-1', expirationDays: 11 });
    } finally {
      sdk.destroy();
      await first.close();
    }
  });

  it('refuses a file that is not a saved state, naming it', async () => {
    const stateFile = path.join(dir, 'not-state.json');
    await writeFile(stateFile, '{"hello": "world"}');
    await expect(startChimeEmulator({ port: 0, stateFile })).rejects.toThrow(
      `${stateFile}: format: must be chime-sdk-identity-emulator-state; the saved emulator state was not loaded`,
    );
  });

  it('refuses a saved state with one bad field as a whole, in one line naming the file and the field, and leaves the file as it was', async () => {
    const stateFile = path.join(dir, 'one-bad-field.json');
    const first = await startChimeEmulator({ port: 0, stateFile, saveIntervalMs: 50 });
    const sdk = chimeClient(first.url);
    const { AppInstanceArn } = await sdk.send(
      new CreateAppInstanceCommand({ Name: 'kept', ClientRequestToken: 'bad-field-app' }),
    );
    for (const id of ['good-1', 'bad', 'good-2']) {
      await sdk.send(
        new CreateAppInstanceUserCommand({
          AppInstanceArn,
          AppInstanceUserId: id,
          Name: id,
          ClientRequestToken: `bad-field-${id}`,
        }),
      );
    }
    sdk.destroy();
    await first.close();
    const saved = JSON.parse(await readFile(stateFile, 'utf8')) as {
      service: { appInstances: { users: { id: string; expirationDays?: number }[] }[] };
    };
    const users = saved.service.appInstances[0]?.users ?? [];
    const badIndex = users.findIndex((user) => user.id === 'bad');
    (users[badIndex] as { expirationDays?: number }).expirationDays = 0;
    const text = JSON.stringify(saved);
    await writeFile(stateFile, text);

    const refused = await startChimeEmulator({ port: 0, stateFile }).then(
      async (emulator) => {
        await emulator.close();
        return undefined;
      },
      (error: Error) => error,
    );
    expect(refused?.message.split('\n')).toEqual([
      `${stateFile}: service.appInstances[0].users[${badIndex}].expirationDays: must be between 1 and 5475; the saved emulator state was not loaded and the file is left as it is: fix that field, or delete the file (npm start -- --persist --reset) to start empty`,
    ]);
    // Nothing dropped, nothing rewritten: the file is byte for byte what it was, the good users with it.
    expect(await readFile(stateFile, 'utf8')).toBe(text);

    // A clock offset past the year 9999 is refused the same way instead of crashing the start.
    const far = JSON.parse(text) as { clockOffsetMs: number };
    far.clockOffsetMs = 1e20;
    await writeFile(stateFile, JSON.stringify(far));
    await expect(startChimeEmulator({ port: 0, stateFile })).rejects.toThrow(
      `${stateFile}: clockOffsetMs: must keep the emulator clock between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z`,
    );
    expect(await readFile(stateFile, 'utf8')).toBe(JSON.stringify(far));
  });
});
