import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsQueues } from '../../../shared/aws/queues';
import { DEAD_LETTER_ATTRIBUTES } from '../../../shared/aws/sqs';
import { loadConfig } from '../../../shared/config';
import { days, seedTenant } from '../../support/chime';
import { type CliStack, startCliStack } from './harness';

/**
 * What came from outside reaches the operator's terminal escaped, through the real CLI: exemption reasons
 * and owners, dead-lettered messages (their bodies and attributes), explain, activity and flag errors.
 */

/** A character a terminal obeys, or one that hides or reorders text (newlines aside: output has lines). */
const RAW = /(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const CLEAR = '\u001b[2J';
const CLIPBOARD = '\u001b]52;c;ZXZpbA==\u0007';
const CSI = '\u009b2J';
const RLO = '\u202e';

describe('outside text is printed escaped', { timeout: 240_000 }, () => {
  let stack: CliStack;
  let sqs: SQSClient;

  beforeAll(async () => {
    stack = await startCliStack();
    sqs = new SQSClient({ region: 'us-east-1', endpoint: stack.env.AWS_ENDPOINT_URL_SQS as string });
    const arn = seedTenant(
      stack.emulator,
      [{ appInstanceUserId: 'guest-1', ageMs: days(1), metadata: '{"plan":"trial"}' }],
      'esc',
    );
    const put = await stack.cli(
      'policy',
      'put',
      await stack.write('policy.json', {
        tenantId: 'esc',
        appInstanceArn: arn,
        rules: [
          {
            id: 'trial',
            priority: 1,
            match: { metadata: { plan: [`${CLEAR}${CSI}trial${RLO}`] } },
            expiration: { days: 30 },
          },
        ],
        default: { expiration: { days: 365 } },
        exemptions: [
          {
            id: 'pilot',
            // Not guest-1's: explain then tries the rule, and prints the values it wanted.
            match: { userIdPrefix: 'vip-' },
            expiration: { days: 60 },
            until: new Date(Date.now() + days(5)).toISOString(),
            reason: `${CLIPBOARD} pilot ${RLO}gnp.exe`,
            owner: `${CSI} ops\u200b`,
          },
        ],
      }),
    );
    expect(put.code, put.stderr).toBe(0);
  });

  afterAll(async () => {
    sqs?.destroy();
    await stack?.close();
  });

  it('exemptions: reason and owner, in the table and in --json', async () => {
    const table = await stack.cli('exemptions', '--tenant', 'esc');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).not.toMatch(RAW);
    expect(table.stdout).toContain('\\x1b]52;c;ZXZpbA==\\x07 pilot \\u202egnp.exe');
    expect(table.stdout).toContain('\\x9b2J ops\\u200b');
    const json = await stack.cli('exemptions', '--tenant', 'esc', '--json');
    expect(json.stdout).not.toMatch(RAW);
    const [exemption] = JSON.parse(json.stdout).exemptions;
    expect(exemption).toMatchObject({
      reason: `${CLIPBOARD} pilot ${RLO}gnp.exe`,
      owner: `${CSI} ops\u200b`,
    });
  });

  it('dlq list: body fields and attributes, cut to one short line each', async () => {
    const config = loadConfig(stack.env);
    const url = await new SqsQueues(sqs).resolveQueueUrl(config.activityDeadLetterQueue);
    // SQS refuses a raw ESC in a body, but JSON carries it as \u001b; C1 and bidi characters pass as they are.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: JSON.stringify({
          tenantId: `${CLEAR}${CLIPBOARD}`,
          appInstanceUserId: `${RLO}evil`,
          requestId: `${CSI}${'r'.repeat(5_000)}`,
        }),
        MessageAttributes: {
          [DEAD_LETTER_ATTRIBUTES.reason]: { DataType: 'String', StringValue: `${CSI}reason${RLO}` },
          [DEAD_LETTER_ATTRIBUTES.detail]: {
            DataType: 'String',
            StringValue: `\u009d0;title\u009c${'d'.repeat(5_000)}`,
          },
        },
      }),
    );
    const listed = await stack.cli('dlq', 'list', '--queue', 'activity');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toMatch(RAW);
    const line = listed.stdout.split('\n').find((text) => text.includes('tenant=')) ?? '';
    expect(line).toContain('\\x9b2Jreason\\u202e');
    expect(line).toContain('tenant=\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07');
    expect(line).toContain('user=\\u202eevil');
    expect(line).toContain('request=\\x9b2Jrrrr');
    expect(line).toContain('(5003 characters)');
    expect(line).toContain('— \\x9d0;title\\x9cdddd');
    expect(line).toContain('(5009 characters)');
    expect(line.length).toBeLessThan(800);
    const json = await stack.cli('dlq', 'list', '--queue', 'activity', '--json');
    expect(json.stdout).not.toMatch(RAW);
    expect(JSON.parse(json.stdout).messages[0].appInstanceUserId).toBe(`${RLO}evil`);
  });

  it('explain: the policy’s selector values it prints', async () => {
    const explained = await stack.cli('explain', '--tenant', 'esc', '--user', 'guest-1');
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).not.toMatch(RAW);
    // JSON-quoted by the engine's explanation (ESC as \u001b); C1 and bidi characters escaped on printing.
    expect(explained.stdout).toContain('\\u001b[2J\\x9b2Jtrial\\u202e');
  });

  it('errors quote a short escaped prefix of a bad input, with its length', async () => {
    const long = `${CLEAR}${'t'.repeat(4_996)}`;
    const result = await stack.cli('plan', '--tenant', long);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(RAW);
    expect(result.stderr).toContain(`got "\\x1b[2J${'t'.repeat(36)}…" (5000 characters)`);
    expect(result.stderr.length).toBeLessThan(300);
    // A policy document with a 5,000-character unknown key: its problem quotes 40 characters of it.
    const document = await stack.write('long-key.json', { tenantId: 'esc', [long]: 1 });
    const validated = await stack.cli('policy', 'validate', document);
    expect(validated.code).toBe(2);
    expect(`${validated.stdout}${validated.stderr}`).not.toMatch(RAW);
    expect(validated.stdout).toContain(`["\\x1b[2J${'t'.repeat(36)}…" (5000 characters)]: unknown key`);
    expect(Math.max(...validated.stdout.split('\n').map((line) => line.length))).toBeLessThan(300);
    const commander = await stack.cli('plan', `--${CLIPBOARD}`);
    expect(commander.code).toBe(2);
    expect(commander.stderr).not.toMatch(RAW);
  });

  it('activity: an unknown key of a line is quoted escaped', async () => {
    const file = await stack.write(
      'events.jsonl',
      `${JSON.stringify({ tenantId: 'esc', appInstanceUserId: 'guest-1', at: Date.now(), [CLIPBOARD]: 1 })}\n`,
    );
    const result = await stack.cli('activity', '--file', file);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(RAW);
    expect(result.stderr).toContain('unknown key(s) "\\x1b]52;c;ZXZpbA==\\x07"');
  });
});
