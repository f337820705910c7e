import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appInstanceArn as fakeArn, policyDocument } from '../../fixtures/policies';
import { days, seedTenant } from '../../support/chime';
import { type CliStack, startCliStack } from './harness';

/**
 * Issue 14, policy documents: each probe input from the issue, through the CLI as an operator runs it,
 * against DynamoDB Local and the Chime emulator. Every refusal exits 2 and leaves the store as it was.
 */
describe('policy documents are checked strictly at the boundary', { timeout: 240_000 }, () => {
  let stack: CliStack;
  let arn: string;

  beforeAll(async () => {
    stack = await startCliStack();
    arn = seedTenant(stack.emulator, [], 'strict');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const versionOf = async (tenantId: string): Promise<number> => {
    const result = await stack.cli('policy', 'get', tenantId, '--json');
    return result.code === 0 ? JSON.parse(result.stdout).version : 0;
  };

  it('rejects a duplicate key anywhere, naming the path of the second; put stores nothing', async () => {
    const text = `{
  "tenantId": "dup-a",
  "appInstanceArn": "${arn}",
  "rules": [],
  "tenantId": "dup-b"
}`;
    const file = await stack.write('dup-root.json', text);
    const validate = await stack.cli('policy', 'validate', file);
    expect(validate.code).toBe(2);
    expect(validate.stdout).toContain(
      'tenantId: duplicate key: a second "tenantId" at line 5 column 3 (the first is at line 2 column 3)',
    );
    const put = await stack.cli('policy', 'put', file);
    expect(put.code).toBe(2);
    expect(put.stderr).toContain('duplicate key');
    expect(await versionOf('dup-a')).toBe(0);
    expect(await versionOf('dup-b')).toBe(0);

    const nested = await stack.write(
      'dup-nested.json',
      `{"tenantId":"dup-c","appInstanceArn":"${arn}","rules":[{"id":"r","priority":1,"match":{"metadata":{"plan":"a","plan":"b"}},"expiration":"never"}]}`,
    );
    const deep = await stack.cli('policy', 'validate', nested, '--json');
    expect(deep.code).toBe(2);
    expect(JSON.parse(deep.stdout).problems).toEqual([
      expect.stringMatching(
        /^rules\[0\]\.match\.metadata\.plan: duplicate key: a second "plan" at line 1 column \d+/,
      ),
    ]);
  });

  it('rejects invalid UTF-8 and lone surrogates with their position instead of storing U+FFFD', async () => {
    const before = Buffer.from(
      `{"tenantId":"bad-text","appInstanceArn":"${arn}","rules":[{"id":"r","priority":1,"description":"caf`,
    );
    const after = Buffer.from('","match":{},"expiration":"never"}]}');
    const file = await stack.write('latin1.json', Buffer.concat([before, Buffer.from([0xe9]), after]));
    const validate = await stack.cli('policy', 'validate', file);
    expect(validate.code).toBe(2);
    expect(validate.stdout).toContain(
      `(root): not valid UTF-8: byte 0xE9 at byte offset ${before.length} (line 1 column ${before.length + 1})`,
    );
    expect((await stack.cli('policy', 'put', file)).code).toBe(2);

    const surrogate = await stack.write(
      'surrogate.json',
      `{"tenantId":"bad-text","appInstanceArn":"${arn}","rules":[{"id":"r","priority":1,"description":"g\\ud800","match":{},"expiration":"never"}]}`,
    );
    const lone = await stack.cli('policy', 'validate', surrogate);
    expect(lone.code).toBe(2);
    expect(lone.stdout).toMatch(/rules\[0\]\.description: lone surrogate \\ud800 at line 1 column \d+/);
    expect((await stack.cli('policy', 'put', surrogate)).code).toBe(2);
    expect(await versionOf('bad-text')).toBe(0);

    // A proper pair is fine.
    const pair = await stack.write(
      'pair.json',
      `{"tenantId":"bad-text","appInstanceArn":"${arn}","rules":[{"id":"r","priority":1,"description":"g\\ud83d\\ude00","match":{},"expiration":"never"}]}`,
    );
    expect((await stack.cli('policy', 'validate', pair)).code).toBe(0);
  });

  it('bounds what DynamoDB can store: numbers in its range and a document size limit named in the error', async () => {
    const tiny = await stack.write(
      'tiny.json',
      `{"tenantId":"big","appInstanceArn":"${arn}","rules":[],"safety":{"maxShorteningPercent":5e-324}}`,
    );
    const underflow = await stack.cli('policy', 'put', tiny);
    expect(underflow.code).toBe(2);
    expect(underflow.stderr).toContain(
      'safety.maxShorteningPercent: 5e-324 cannot be stored: DynamoDB numbers are 0 or of magnitude 1e-130 to 9.99e125',
    );

    const values = Array.from({ length: 50 }, (_, index) => `${index}-${'x'.repeat(20_000)}`);
    const huge = policyDocument('big', arn, {
      rules: [{ id: 'r', priority: 1, match: { metadata: { team: values } }, expiration: 'never' }],
    });
    const megabyte = await stack.cli('policy', 'put', await stack.write('huge.json', JSON.stringify(huge)));
    expect(megabyte.code).toBe(2);
    expect(megabyte.stderr).toMatch(
      /\(root\): the file is \d+ bytes; the limit is 131072 bytes as written and 65536 bytes as compact JSON/,
    );

    const large = policyDocument('big', arn, {
      rules: [
        { id: 'r', priority: 1, match: { metadata: { team: values.slice(0, 4) } }, expiration: 'never' },
      ],
    });
    const over = await stack.cli(
      'policy',
      'validate',
      await stack.write('large.json', JSON.stringify(large)),
    );
    expect(over.code).toBe(2);
    expect(over.stdout).toMatch(
      /\(root\): the document is 8\d{4} bytes as compact JSON; the limit is 65536 bytes \(64 KiB/,
    );
    expect(await versionOf('big')).toBe(0);
  });

  it('takes --expected-version only as a plain non-negative decimal integer', async () => {
    const file = await stack.write('versions.json', policyDocument('versions', arn));
    for (const value of ['0x3', '', ' ', '1e0', '-0', '3.0', '01', '+1', '1_000']) {
      const result = await stack.cli('policy', 'put', file, '--expected-version', value);
      expect(result.code, value).toBe(2);
      expect(result.stderr).toBe(
        `chime-lifecycle: --expected-version: must be a plain whole number such as 0 or 3 (digits only, no sign, no leading zeros), got ${JSON.stringify(value)}\n`,
      );
    }
    expect(await versionOf('versions')).toBe(0);
    const first = await stack.cli('policy', 'put', file, '--expected-version', '0');
    expect(first.code, first.stderr).toBe(0);
    expect(await versionOf('versions')).toBe(1);
  });

  it('refuses an AppInstance that does not exist (DescribeAppInstance), exit 2, nothing written', async () => {
    const missing = fakeArn('never-created');
    const result = await stack.cli(
      'policy',
      'put',
      await stack.write('ghost.json', policyDocument('ghost', missing)),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `chime-lifecycle: appInstanceArn: AppInstance ${missing} does not exist in us-east-1 (DescribeAppInstance: NotFoundException); check the ARN, and create the AppInstance first. Nothing written\n`,
    );
    expect(await versionOf('ghost')).toBe(0);
  });

  it('moves an AppInstance only with --move-app-instance, records the move, and the claim check holds through the sequence', async () => {
    const first = seedTenant(stack.emulator, [], 'move-1');
    const second = seedTenant(stack.emulator, [], 'move-2');
    const cli = stack.cli;
    expect(
      (await cli('policy', 'put', await stack.write('a1.json', policyDocument('mover', first)))).code,
    ).toBe(0);

    const silent = await cli('policy', 'put', await stack.write('a2.json', policyDocument('mover', second)));
    expect(silent.code).toBe(2);
    expect(silent.stderr).toContain(
      `this put moves tenant mover from AppInstance ${first} to ${second}, which releases ${first} for any other tenant to claim; add --move-app-instance`,
    );
    expect(await versionOf('mover')).toBe(1);
    // Still claimed by mover, so nobody else can take it.
    const early = await cli('policy', 'put', await stack.write('b1.json', policyDocument('taker', first)));
    expect(early.code).toBe(2);
    expect(early.stderr).toContain(
      `AppInstance ${first} already belongs to another tenant (whose name is not shown`,
    );
    expect(early.stderr).not.toContain('mover');

    const moved = await cli(
      'policy',
      'put',
      await stack.write('a2.json', policyDocument('mover', second)),
      '--move-app-instance',
    );
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toBe(`tenant mover: stored version 2, moved from ${first} to ${second}\n`);
    const history = await cli('policy', 'history', 'mover');
    expect(history.stdout.split('\n')[0]).toMatch(/^VERSION\s+UPDATED\s+RULES\s+APPINSTANCE\s+NOTE$/);
    expect(history.stdout).toContain(`moved from ${first}`);
    const json = JSON.parse((await cli('policy', 'history', 'mover', '--json')).stdout);
    expect(json.map((entry: { movedFrom: string | null }) => entry.movedFrom)).toEqual([first, null]);

    // Released: another tenant may now claim the first AppInstance ...
    const taken = await cli('policy', 'put', await stack.write('b1.json', policyDocument('taker', first)));
    expect(taken.code, taken.stderr).toBe(0);
    // ... so the mover cannot move back, and the taker cannot take the mover's new one.
    const back = await cli(
      'policy',
      'put',
      await stack.write('a1.json', policyDocument('mover', first)),
      '--move-app-instance',
    );
    expect(back.code).toBe(2);
    expect(back.stderr).toContain(`AppInstance ${first} already belongs to another tenant`);
    const grab = await cli(
      'policy',
      'put',
      await stack.write('b2.json', policyDocument('taker', second)),
      '--move-app-instance',
    );
    expect(grab.code).toBe(2);
    expect(await versionOf('mover')).toBe(2);
    expect(await versionOf('taker')).toBe(1);
  });

  describe.each(['__proto__', 'constructor', 'prototype'])('metadata key %s is plain data', (key) => {
    it('through validate, put, get, plan and sync', async () => {
      const tenantId = `key-${key.replace(/_/g, '')}`;
      const keyJson = JSON.stringify(key);
      const app = seedTenant(
        stack.emulator,
        [
          { appInstanceUserId: 'hit', ageMs: days(1), metadata: `{${keyJson}:"x"}` },
          { appInstanceUserId: 'miss', ageMs: days(1), metadata: '{"other":"x"}' },
          { appInstanceUserId: 'empty', ageMs: days(1), metadata: '{}' },
        ],
        tenantId,
      );
      const text = `{
  "tenantId": "${tenantId}",
  "appInstanceArn": "${app}",
  "rules": [
    { "id": "keyed", "priority": 10, "match": { "metadata": { ${keyJson}: "x" } }, "expiration": { "days": 30 } }
  ],
  "safety": { "minRemainingDays": 1, "maxShorteningChanges": 100, "maxShorteningPercent": 100 }
}
`;
      const file = await stack.write(`${tenantId}.json`, text);
      const validate = await stack.cli('policy', 'validate', file);
      expect(validate.code, validate.stdout).toBe(0);
      const put = await stack.cli('policy', 'put', file);
      expect(put.code, put.stderr).toBe(0);
      expect(put.stdout).toBe(`tenant ${tenantId}: stored version 1\n`);
      const get = await stack.cli('policy', 'get', tenantId);
      expect(get.stdout).toBe(text);

      const plan = await stack.cli('plan', '--tenant', tenantId, '--json');
      expect(plan.code, plan.stderr).toBe(0);
      const parsed = JSON.parse(plan.stdout);
      expect(parsed.summary).toMatchObject({ users: 3, unmanaged: 2, set: 1 });
      expect(parsed.changes).toEqual([
        expect.objectContaining({ appInstanceUserId: 'hit', ruleId: 'keyed', desiredDays: 30 }),
      ]);

      const sync = await stack.cli('sync', '--tenant', tenantId, '--json');
      expect(sync.code, sync.stderr).toBe(0);
      expect(JSON.parse(sync.stdout).runs[0].run).toMatchObject({ state: 'completed', counters: { set: 1 } });
      const chime = stack.runtime.chimeUsers;
      const expiration = async (id: string) => (await chime.describe(chime.userArn(app, id)))?.expirationDays;
      expect(await expiration('hit')).toBe(30);
      expect(await expiration('miss')).toBeUndefined();
      expect(await expiration('empty')).toBeUndefined();
    });
  });
});
