import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentFor } from '../../../local/environment';
import { type LocalEventBridge, startLocalEventBridge } from '../../../local/eventbridge-server';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import { policyDocument } from '../../fixtures/policies';
import { type ChimeEmulator, days, hours, seedTenant, startTestEmulator } from '../../support/chime';
import { dynamoDbUrl } from '../../support/context';
import { uniqueConfig } from '../../support/stack';

const run = promisify(execFile);
const BIN = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'chime-lifecycle.js');

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a user runs it: a separate process, configured only through its environment. */
// Each command is a fresh Node process (~1-4 s on a busy machine), so the tests get generous time.
describe('chime-lifecycle policy and plan commands', { timeout: 240_000 }, () => {
  let emulator: ChimeEmulator;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let arn: string;
  let sqs: SqsServer;
  let eventBridge: LocalEventBridge;

  const cli = async (...args: string[]): Promise<CliResult> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };

  const writeJson = async (name: string, value: unknown) => {
    const file = path.join(dir, name);
    await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
    return file;
  };

  beforeAll(async () => {
    emulator = await startTestEmulator(50);
    sqs = await startSqsServer({ port: 0 });
    eventBridge = await startLocalEventBridge();
    dir = await mkdtemp(path.join(tmpdir(), 'chime-lifecycle-cli-'));
    const config = uniqueConfig({ quotaScale: 50 });
    env = {
      ...process.env,
      ...environmentFor(config, {
        dynamodb: dynamoDbUrl(),
        chime: emulator.url,
        sqs: sqs.url,
        eventbridge: eventBridge.url,
      }),
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    arn = seedTenant(emulator, [
      { appInstanceUserId: 'guest-legacy', ageMs: days(1) },
      { appInstanceUserId: 'guest-window', ageMs: days(9.5), expirationDays: 10 },
      { appInstanceUserId: 'user-expired', ageMs: days(30) + hours(1), expirationDays: 30 },
      { appInstanceUserId: 'emp-7', ageMs: days(40), expirationDays: 100 },
      { appInstanceUserId: 'svc-x', ageMs: days(5), expirationDays: 9 },
      { appInstanceUserId: 'user-ok', ageMs: days(5), expirationDays: 365 },
    ]);
    const init = await cli('local', 'init', '--json');
    expect(init.code, init.stderr).toBe(0);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await emulator?.close();
    await sqs?.close();
    await eventBridge?.close();
  });

  it('validate lists every problem with its JSON path and exits 2', async () => {
    const file = await writeJson('bad.json', {
      tenantId: 'acme!',
      appInstanceArn: `${arn}/user/someone`,
      rules: [
        { id: 'a', priority: 1, match: {}, expiration: { days: 0 } },
        { id: 'a', priority: 1, match: { userIdPattern: '(' }, expiration: 'sometimes' },
      ],
    });
    const result = await cli('policy', 'validate', file);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/tenantId:/);
    expect(result.stdout).toMatch(/appInstanceArn:/);
    expect(result.stdout).toMatch(/rules\[0\]\.expiration\.days: must be an integer 1\.\.5475/);
    expect(result.stdout).toMatch(/rules\[1\]\.id:/);
    expect(result.stdout).toMatch(/rules\[1\]\.priority:/);
    expect(result.stdout).toMatch(/rules\[1\]\.match\.userIdPattern:/);
    expect(result.stdout).toMatch(/rules\[1\]\.expiration:/);

    const broken = await writeJson('broken.json', '{"tenantId": ');
    const syntax = await cli('policy', 'validate', broken, '--json');
    expect(syntax.code).toBe(2);
    expect(JSON.parse(syntax.stdout)).toMatchObject({ valid: false });

    const missing = await cli('policy', 'validate', path.join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read policy file .*nope\.json: no such file/);
    expect(missing.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('put, get, list and history round-trip through DynamoDB with versions', async () => {
    const file = await writeJson('acme.json', policyDocument('acme', arn));
    expect((await cli('policy', 'validate', file)).code).toBe(0);
    const first = await cli('policy', 'put', file, '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ tenantId: 'acme', version: 1 });
    // An identical document (here re-indented) stores nothing and triggers nothing.
    const same = await writeJson('acme-same.json', JSON.stringify(policyDocument('acme', arn)));
    const unchanged = await cli('policy', 'put', same);
    expect(unchanged.code, unchanged.stderr).toBe(0);
    expect(unchanged.stdout).toBe('tenant acme: unchanged (version 1)\n');
    expect(
      JSON.parse((await cli('policy', 'history', 'acme', '--json')).stdout).map(
        (entry: { version: number }) => entry.version,
      ),
    ).toEqual([1]);
    const edited = await writeJson(
      'acme-edited.json',
      policyDocument('acme', arn, {
        rules: (policyDocument('acme', arn).rules as { id: string }[]).map((rule) => ({
          ...rule,
          description: `rule ${rule.id}`,
        })),
      }),
    );
    const second = await cli('policy', 'put', edited);
    expect(second.stdout).toMatch(/stored version 2/);
    const stale = await cli('policy', 'put', file, '--expected-version', '1');
    expect(stale.code).toBe(6); // conflict
    expect(stale.stderr).toMatch(/at version 2, not 1; nothing written/);

    const get = JSON.parse((await cli('policy', 'get', 'acme', '--json')).stdout);
    expect(get).toMatchObject({ tenantId: 'acme', version: 2, rules: 4 });
    const list = JSON.parse((await cli('policy', 'list', '--json')).stdout);
    expect(list).toEqual([expect.objectContaining({ tenantId: 'acme', version: 2, rules: 4 })]);
    const history = JSON.parse((await cli('policy', 'history', 'acme', '--json')).stdout);
    expect(history.map((entry: { version: number }) => entry.version)).toEqual([2, 1]);

    const unknown = await cli('policy', 'get', 'nobody');
    expect(unknown.code).toBe(5); // not found
    expect(unknown.stderr).toBe(
      'chime-lifecycle: unknown tenant nobody: no policy is stored for it; `chime-lifecycle policy list` shows the tenants that have one\n',
    );
    const badId = await cli('policy', 'get', '../x');
    expect(badId.code).toBe(2);
  });

  it('plan shows what a sync would change, from Chime, and writes nothing', async () => {
    const before = emulator.stats().calls.PutAppInstanceUserExpirationSettings ?? 0;
    const result = await cli('plan', '--tenant', 'acme', '--json', '--quota-scale', '50');
    expect(result.code, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.summary).toMatchObject({
      users: 6,
      unmanaged: 1,
      unchanged: 2,
      set: 2,
      remove: 1,
      shortening: 1,
      rescues: 1,
    });
    // 1 shortening change among 6 users is 17%, above the default 10% cap: a sync would hold it
    expect(plan.summary.safety.wouldHold).toBe(true);
    expect(plan.summary.safety.reasons.join(' ')).toMatch(/maxShorteningPercent 10/);
    const byId = Object.fromEntries(
      plan.changes.map((change: { appInstanceUserId: string }) => [change.appInstanceUserId, change]),
    );
    expect(byId['guest-legacy']).toMatchObject({
      currentDays: null,
      desiredDays: 7,
      ruleId: 'guests',
      shortens: true,
    });
    expect(byId['user-expired']).toMatchObject({
      currentDays: 30,
      desiredDays: 365,
      rescue: true,
      source: 'default',
    });
    expect(byId['emp-7']).toMatchObject({ action: 'remove', ruleId: 'staff' });
    expect(byId['guest-window']).toBeUndefined();
    expect(emulator.stats().calls.PutAppInstanceUserExpirationSettings ?? 0).toBe(before);

    const text = await cli('plan', '--tenant', 'acme');
    const lines = text.stdout.split('\n');
    const countsHeader = lines.findIndex((line) => /^\s+USERS\s+UNCHANGED\s+SET/.test(line));
    expect(lines[countsHeader]).toBe('  USERS  UNCHANGED  SET  REMOVE  SHORTENING  RESCUES  UNMANAGED  GONE');
    expect(lines[countsHeader + 1]).toBe(
      '      6          2    2       1           1        1          1     0',
    );
    expect(text.stdout).toMatch(/safety: a sync would HOLD the 1 shortening change/);
    // The changes table: a header, then one row per change, every column starting where its header does.
    const header = lines.findIndex((line) => line.startsWith('USER '));
    const row = lines.find((line) => line.startsWith('guest-legacy'));
    expect(row).toBeDefined();
    const columns = ['CURRENT', 'DESIRED', 'RULE', 'FLAGS', 'REASON'];
    const headerLine = lines[header] as string;
    expect(row?.slice(headerLine.indexOf('RULE')).startsWith('guests ')).toBe(true);
    expect(row?.slice(headerLine.indexOf('FLAGS')).startsWith('SHORTENS ')).toBe(true);
    // right-aligned day columns end where their headers end
    const desiredEnd = headerLine.indexOf('DESIRED') + 'DESIRED'.length;
    expect(row?.slice(desiredEnd - 2, desiredEnd)).toBe('7d');
    for (const column of columns) expect(headerLine).toContain(column);
    expect(text.stdout).not.toContain('\t');
    expect(text.stderr).toBe('');
  });

  it('plan previews an unsaved policy, and its caps say whether a sync would hold', async () => {
    const strict = policyDocument('acme', arn, {
      default: { expiration: { days: 20 } },
      safety: { minRemainingDays: 1, maxShorteningChanges: 1, maxShorteningPercent: 100 },
    });
    const file = await writeJson('strict.json', strict);
    const result = await cli('plan', '--policy', file, '--json');
    expect(result.code, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan.summary.shortening).toBeGreaterThan(1);
    expect(plan.summary.safety).toMatchObject({ wouldHold: true });
    expect(JSON.parse((await cli('policy', 'get', 'acme', '--json')).stdout).version).toBe(2);

    const mismatch = await cli('plan', '--tenant', 'other', '--policy', file);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/for tenant "acme", not "other"/);
    const noTenant = await cli('plan');
    expect(noTenant.code).toBe(2);
    const badScale = await cli('plan', '--tenant', 'acme', '--quota-scale', 'fast');
    expect(badScale.code).toBe(2);
    expect(badScale.stderr).toMatch(/--quota-scale: must be a number greater than 0/);
  });
});
