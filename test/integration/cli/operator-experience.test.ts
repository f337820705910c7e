import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../../../package.json' with { type: 'json' };
import { policyDocument } from '../../fixtures/policies';
import { days, seedTenant } from '../../support/chime';
import { BIN, type CliResult, type CliStack, runCli, startCliStack } from './harness';

/** A port nothing listens on: bound by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), as an operator at a terminal does. */
function onTerminal(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<CliResult> {
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? -1) : 0;
      resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
    });
  });
}

/** Issue 13 items 4-8 and issue 14 item 8, met as an operator meets them. */
describe('the CLI helps its operator', { timeout: 240_000 }, () => {
  let stack: CliStack;
  let arn: string;
  let home: string;

  beforeAll(async () => {
    stack = await startCliStack();
    home = await mkdtemp(path.join(tmpdir(), 'cli-home-'));
    arn = seedTenant(
      stack.emulator,
      Array.from({ length: 120 }, (_, index) => ({ appInstanceUserId: `user-${index}`, ageMs: days(1) })),
      'operator',
    );
  });
  afterAll(async () => {
    await stack?.close();
    await rm(home, { recursive: true, force: true });
  });

  /** An environment with nothing from the test process's AWS settings. */
  const bareEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH ?? '',
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    ...extra,
  });

  it('says which credential is missing and where the export lines are', async () => {
    const result = await runCli(bareEnv(), ['policy', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'chime-lifecycle: no AWS credentials found (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile); for the local stack, run `npm start` and paste the `export` lines it prints; for a deployed stack, see docs/deploy.md\n',
    );
  });

  it('says which endpoint it cannot reach and which variable named it', async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const result = await runCli(
      bareEnv({
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      }),
      ['policy', 'list'],
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `chime-lifecycle: cannot reach DynamoDB at ${endpoint} (from AWS_ENDPOINT_URL_DYNAMODB): is the local stack running? Start it with \`npm start\`, or fix AWS_ENDPOINT_URL_DYNAMODB (ECONNREFUSED)\n`,
    );
  });

  it('names a missing table and the command that creates it', async () => {
    const env = { ...stack.env, CHIME_LIFECYCLE_POLICY_TABLE: 'nobody-made-this' };
    const result = await runCli(env, ['policy', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `chime-lifecycle: DynamoDB table nobody-made-this (CHIME_LIFECYCLE_POLICY_TABLE) does not exist at ${stack.env.AWS_ENDPOINT_URL_DYNAMODB}: create the tables with \`chime-lifecycle local init\` (local stack) or deploy the stack (docs/deploy.md), or set the variable to the right name\n`,
    );
  });

  it('policy get round-trips: the document exactly as put on stdout, the version line on stderr', async () => {
    // Unusual key order and layout, integer-like metadata keys: all kept.
    const text = `{
  "safety": { "maxShorteningPercent": 100, "maxShorteningChanges": 1000, "minRemainingDays": 1 },
  "rules": [
    { "priority": 5, "id": "by-team", "match": { "metadata": { "zeta": "1", "10": "a", "alpha": ["x", "y"] } }, "expiration": { "days": 90 } }
  ],
  "appInstanceArn": "${arn}",
  "tenantId": "operator"
}
`;
    const put = await stack.cli('policy', 'put', await stack.write('operator.json', text));
    expect(put.stdout).toBe('tenant operator: stored version 1\n');
    const get = await stack.cli('policy', 'get', 'operator');
    expect(get.code).toBe(0);
    expect(get.stdout).toBe(text);
    expect(get.stderr).toMatch(/^# tenant operator, version 1, updated \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);

    // What `policy get T > f.json` writes is a policy file again, and putting it back changes nothing.
    const again = await stack.cli('policy', 'put', await stack.write('roundtrip.json', get.stdout));
    expect(again).toEqual({ code: 0, stdout: 'tenant operator: unchanged (version 1)\n', stderr: '' });
    const history = JSON.parse((await stack.cli('policy', 'history', 'operator', '--json')).stdout);
    expect(history).toHaveLength(1);
  });

  it('prints aligned tables with headers, --json unchanged, and --version', async () => {
    await stack.cli(
      'policy',
      'put',
      await stack.write(
        'second.json',
        policyDocument('a-second-tenant', seedTenant(stack.emulator, [], 'second')),
      ),
    );
    const list = await stack.cli('policy', 'list');
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TENANT\s+VERSION\s+STATE\s+RULES\s+APPINSTANCE\s+UPDATED$/);
    expect(lines).toHaveLength(3);
    const column = (name: string) => (lines[0] as string).indexOf(name);
    for (const line of lines.slice(1)) {
      expect(line.slice(column('STATE'), column('STATE') + 7)).toBe('enabled');
      expect(line.slice(column('APPINSTANCE')).startsWith('arn:aws:chime:')).toBe(true);
    }
    expect(list.stdout).not.toContain('\t');
    const json = JSON.parse((await stack.cli('policy', 'list', '--json')).stdout);
    expect(json.map((entry: { tenantId: string }) => entry.tenantId)).toEqual([
      'a-second-tenant',
      'operator',
    ]);

    const version = await stack.cli('--version');
    expect(version).toEqual({ code: 0, stdout: `${packageJson.version}\n`, stderr: '' });
  });

  it('shows progress for plan and sync on a terminal only, never in --json or when piped', async () => {
    const piped = await stack.cli('plan', '--tenant', 'operator');
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toBe('');

    const plan = await onTerminal(stack.env, ['plan', '--tenant', 'operator']);
    expect(plan.code, plan.stdout).toBe(0);
    expect(plan.stdout).toMatch(/plan operator: \d+ users scanned · [\d,]+\/s/);
    expect(plan.stdout).toMatch(/USERS\s+UNCHANGED/);

    const json = await onTerminal(stack.env, ['plan', '--tenant', 'operator', '--json']);
    expect(json.stdout).not.toContain('users scanned');
    expect(JSON.parse(json.stdout.replace(/\r\n/g, '\n')).summary.users).toBe(120);

    const sync = await onTerminal(stack.env, ['sync', '--tenant', 'operator']);
    expect(sync.code, sync.stdout).toBe(0);
    expect(sync.stdout).toMatch(/sync operator: \d+ users scanned/);
    // A second run has the first as its estimate.
    const again = await onTerminal(stack.env, ['sync', '--tenant', 'operator']);
    expect(again.stdout).toMatch(/sync operator: \d+ of ~120 users scanned · [\d,]+\/s · ETA \d+s/);
    const pipedSync = await stack.cli('sync', '--tenant', 'operator');
    expect(pipedSync.stderr).toBe('');
  });

  it('hides the SQLite ExperimentalWarning and keeps every other warning', async () => {
    // Loads node:sqlite after start-up, as `local start` does when it imports fauxqs.
    const loadSqlite = 'data:text/javascript,setTimeout(() => import("node:sqlite"), 300);';
    const bare = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        ['--import', loadSqlite, '-e', 'setTimeout(() => {}, 800)'],
        (_e, _o, stderr) => resolve(stderr),
      );
    });
    expect(bare).toContain('ExperimentalWarning: SQLite');
    const cli = await runCli(stack.env, ['--version'], { nodeArgs: ['--import', loadSqlite] });
    expect(cli).toEqual({ code: 0, stdout: `${packageJson.version}\n`, stderr: '' });
    const other = 'data:text/javascript,setTimeout(() => process.emitWarning("disk nearly full"), 300);';
    const warned = await runCli(stack.env, ['--version'], { nodeArgs: ['--import', other] });
    expect(warned.stderr).toMatch(/^\(node:\d+\) Warning: disk nearly full\n$/);
  });

  it('onboard --file names an unknown key by its position, never its text', async () => {
    const file = await stack.write(
      'users.jsonl',
      `${JSON.stringify({ tenantId: 'operator', appInstanceUserId: 'new-1', name: 'A Person', 'jane.doe@example.com': 'x' })}\n`,
    );
    const result = await stack.cli('onboard', '--file', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${file}:1: invalid-message: (root): unknown key(s) at position(s) 4 (keys are not echoed: they may hold personal data)`,
    );
    expect(result.stderr + result.stdout).not.toContain('jane');
    const json = await stack.cli('onboard', '--file', file, '--json');
    expect(json.stdout).not.toContain('jane');
    expect(JSON.parse(json.stdout).invalid).toEqual([
      expect.objectContaining({ line: 1, detail: expect.stringContaining('position(s) 4') }),
    ]);
    expect(await readFile(file, 'utf8')).toContain('jane'); // the key really was in the file
  });
});
