import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { register } from '../../../cli/commands/dlq';
import { CliError } from '../../../cli/errors';
import type { EnsuredQueue } from '../../../local/queue-provisioning';
import { ensureQueues } from '../../../local/queue-provisioning';
import { ENV } from '../../../shared/config';
import { type QueueStack, queueDepth, receiveAll, startQueueStack, uniqueQueueConfig } from './helpers';

let stack: QueueStack;
const TOUCHED_ENV = [
  'AWS_ENDPOINT_URL_SQS',
  'AWS_REGION',
  ENV.onboardingQueue,
  ENV.onboardingDeadLetterQueue,
  ENV.reconcileQueue,
  ENV.reconcileDeadLetterQueue,
];
const savedEnv = Object.fromEntries(TOUCHED_ENV.map((name) => [name, process.env[name]]));

beforeAll(async () => {
  stack = await startQueueStack();
});

afterAll(async () => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await stack?.close();
});

let onboarding: EnsuredQueue;
let reconcile: EnsuredQueue;

/** Each test gets its own queues, named through the environment exactly as an operator would. */
beforeEach(async () => {
  const config = uniqueQueueConfig();
  ({ onboarding, reconcile } = await ensureQueues(stack.sqs, config));
  process.env.AWS_ENDPOINT_URL_SQS = stack.server.url;
  process.env.AWS_REGION = config.region;
  process.env[ENV.onboardingQueue] = config.onboardingQueue;
  process.env[ENV.onboardingDeadLetterQueue] = config.onboardingDeadLetterQueue;
  process.env[ENV.reconcileQueue] = config.reconcileQueue;
  process.env[ENV.reconcileDeadLetterQueue] = config.reconcileDeadLetterQueue;
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `chime-lifecycle dlq ...` through commander and returns what it printed. */
async function run(...args: string[]): Promise<string> {
  const program = new Command('chime-lifecycle').exitOverride();
  register(program);
  let output = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['dlq', ...args], { from: 'user' });
  } finally {
    vi.restoreAllMocks();
  }
  return output;
}

const SECRET_BODY = JSON.stringify({
  tenantId: 'tenant-1',
  appInstanceUserId: 'user-42',
  requestId: 'req-7',
  name: 'Alice Secretname',
  metadata: 'vip=true;phone=555-0100',
});

async function deadLetterSecret(queue: EnsuredQueue, reason = 'invalid-message'): Promise<void> {
  await stack.queues.sendToDeadLetter(queue.deadLetterUrl, {
    body: SECRET_BODY,
    reason,
    detail: 'expiration rule missing',
    sourceQueue: 'source',
    receiveCount: 3,
  });
}

describe('dlq list', () => {
  it('--json lists reason, receive count, age and identifiers, never the user name or metadata', async () => {
    await deadLetterSecret(onboarding);
    await stack.queues.sendBatch(onboarding.deadLetterUrl, [{ body: 'not json at all' }]);

    const output = await run('list', '--json');
    expect(output).not.toMatch(/Alice|Secretname|vip|555-0100/);
    const listed = JSON.parse(output);
    expect(listed).toMatchObject({ queue: 'onboarding', count: 2 });
    const rows = [...listed.messages].sort((a, b) => a.bodyBytes - b.bodyBytes);
    expect(rows[0]).toMatchObject({ reason: 'max-receive-count-exceeded', bodyBytes: 15 });
    expect(rows[0]).not.toHaveProperty('tenantId');
    expect(rows[1]).toMatchObject({
      reason: 'invalid-message',
      detail: 'expiration rule missing',
      receiveCount: 3,
      tenantId: 'tenant-1',
      appInstanceUserId: 'user-42',
      requestId: 'req-7',
    });
    expect(rows[1].ageSeconds).toBeGreaterThanOrEqual(0);
    expect(rows[1].messageId).toMatch(/\S+/);
  });

  it('prints one line per message in text mode', async () => {
    await deadLetterSecret(onboarding);
    const output = await run('list');
    expect(output).not.toMatch(/Alice|Secretname|vip/);
    const [header, line, ...rest] = output.trim().split('\n');
    expect(header).toMatch(/-onboarding-dlq: 1 message\(s\)$/);
    expect(line).toMatch(
      /invalid-message {2}receives=3 {2}age=\d+s {2}tenant=tenant-1 user=user-42 request=req-7/,
    );
    expect(rest).toEqual([]);
  });

  it('--queue reconcile reads the reconcile DLQ and --max limits the count', async () => {
    await deadLetterSecret(onboarding);
    for (let index = 0; index < 3; index++) await deadLetterSecret(reconcile, `reason-${index}`);
    const listed = JSON.parse(await run('list', '--queue', 'reconcile', '--max', '2', '--json'));
    expect(listed).toMatchObject({ queue: 'reconcile', count: 2 });
    expect(listed.messages.every((row: { reason: string }) => row.reason.startsWith('reason-'))).toBe(true);
  });

  it('says so when the DLQ is empty', async () => {
    expect(await run('list')).toMatch(/no dead-lettered messages/);
  });
});

describe('dlq redrive', () => {
  it('moves the messages back to the source queue and empties the DLQ', async () => {
    await deadLetterSecret(onboarding);
    await deadLetterSecret(onboarding);
    const result = JSON.parse(await run('redrive', '--json'));
    expect(result).toMatchObject({ queue: 'onboarding', moved: 2, limitReached: false });
    expect(JSON.parse(await run('list', '--json')).count).toBe(0);
    const back = await receiveAll(stack.sqs, onboarding.url);
    expect(back.map((message) => message.Body)).toEqual([SECRET_BODY, SECRET_BODY]);
  });

  it('stops at --max and says there may be more', async () => {
    for (let index = 0; index < 3; index++) await deadLetterSecret(reconcile);
    const output = await run('redrive', '--queue', 'reconcile', '--max', '2');
    expect(output).toMatch(/moved 2 message\(s\) from \S+-reconcile-dlq to \S+-reconcile\n/);
    expect(output).toMatch(/there may be more/);
    expect(await queueDepth(stack.sqs, reconcile.deadLetterUrl)).toEqual({ visible: 1, inFlight: 0 });
  });
});

describe('flag validation', () => {
  it.each([
    [['list', '--queue', 'billing'], /--queue must be one of onboarding, reconcile, activity; got "billing"/],
    [['redrive', '--queue', 'ONBOARDING'], /--queue must be one of/],
    [['list', '--max', '0'], /--max must be a whole number from 1 to 1000; got "0"/],
    [['list', '--max', 'abc'], /--max must be a whole number/],
    [['redrive', '--max', '2.5'], /--max must be a whole number/],
    [['redrive', '--max', '-3'], /--max must be a whole number/],
  ])('dlq %j fails with exit code 2', async (args, message) => {
    const failure = await run(...args).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CliError);
    expect((failure as CliError).exitCode).toBe(2);
    expect((failure as CliError).message).toMatch(message);
  });

  it('names the queue when it does not exist', async () => {
    process.env[ENV.onboardingDeadLetterQueue] = 'no-such-queue-dlq';
    const failure = await run('list').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CliError);
    expect((failure as CliError).exitCode).toBe(1);
    expect((failure as CliError).message).toMatch(/no-such-queue-dlq/);
  });
});
