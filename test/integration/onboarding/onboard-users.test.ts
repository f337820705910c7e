import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerDlq } from '../../../cli/commands/dlq';
import { DAY_MS } from '../../../shared/policy';
import { seedTenant } from '../../support/chime';
import { queueDepth, waitFor } from '../queues/helpers';
import {
  creates,
  eventsOfType,
  idempotencyItems,
  type OnboardingStack,
  onboardedEventsFor,
  pollUntilReceived,
  putPolicy,
  runUntilIdle,
  send,
  startOnboardingStack,
  userIdsOf,
} from './support';

const MAX_RECEIVE_COUNT = 3;

let stack: OnboardingStack;
let acme: string;

beforeAll(async () => {
  stack = await startOnboardingStack({ maxReceiveCount: MAX_RECEIVE_COUNT, visibilityTimeoutSeconds: 10 });
  acme = seedTenant(stack.emulator, [], 'acme');
  await putPolicy(stack.runtime, 'acme', acme);
});

afterAll(async () => {
  await stack?.close();
});

const arnOf = (appInstanceArn: string, userId: string) => `${appInstanceArn}/user/${userId}`;

async function deadLetters() {
  return stack.runtime.deadLetters.peek(stack.queue.deadLetterUrl, 100);
}

describe('onboard-users handler (real handler, local SQS runner, emulator, DynamoDB Local)', () => {
  it('creates each user with the expiration its policy decides, records it and publishes User Onboarded', async () => {
    const before = Date.now();
    await send(stack, [
      { tenantId: 'acme', appInstanceUserId: 'guest-a1', name: 'Guest A1' },
      { tenantId: 'acme', appInstanceUserId: 'u-trial', name: 'Trial', metadata: '{"plan":"trial"}' },
      {
        tenantId: 'acme',
        appInstanceUserId: 'emp-42',
        name: 'Employee',
        tags: [{ Key: 'team', Value: 'x' }],
      },
      { tenantId: 'acme', appInstanceUserId: 'svc-bot', name: 'Bot' },
      { tenantId: 'acme', appInstanceUserId: 'plain-1', name: 'Plain', requestId: 'req-1' },
    ]);
    await runUntilIdle(stack);

    const expected: Record<string, number | undefined> = {
      'guest-a1': 7, // rule guests
      'u-trial': 30, // rule trial (metadata)
      'emp-42': undefined, // rule staff: never
      'svc-bot': undefined, // rule service: unmanaged
      'plain-1': 365, // default
    };
    for (const [userId, days] of Object.entries(expected)) {
      const user = await stack.runtime.chimeUsers.describe(arnOf(acme, userId));
      expect(user, userId).not.toBeNull();
      expect(user?.expirationDays, userId).toBe(days);
    }
    const ledger = await stack.runtime.ledger.getMany('acme', Object.keys(expected));
    expect(ledger.size).toBe(5);
    const guest = ledger.get('guest-a1');
    expect(guest).toMatchObject({ expirationDays: 7, appliedPolicyVersion: 1, appliedRuleId: 'guests' });
    expect(guest?.createdAt).toBeGreaterThanOrEqual(before);
    expect(guest?.verifiedAt).toBeGreaterThanOrEqual(before);
    expect(ledger.get('svc-bot')?.expirationDays).toBeNull();

    const event = onboardedEventsFor(stack, 'plain-1');
    expect(event).toEqual([
      expect.objectContaining({
        tenantId: 'acme',
        appInstanceUserArn: arnOf(acme, 'plain-1'),
        requestId: 'req-1',
        result: 'created',
        ruleId: null,
        expirationDays: 365,
      }),
    ]);
    // Names and metadata never leave in events.
    const serialized = JSON.stringify(eventsOfType(stack, 'User Onboarded'));
    expect(serialized).not.toContain('Guest A1');
    expect(serialized).not.toContain('plan');
    expect(await deadLetters()).toEqual([]);
  });

  it('creates one user however often a request is delivered: duplicates in a batch, later copies, redeliveries', async () => {
    const request = { tenantId: 'acme', appInstanceUserId: 'dup-1', name: 'Dup' };
    const createsBefore = creates(stack);

    // A delivery whose delete is lost: the handler succeeds but the message is made visible again at once,
    // exactly what SQS does when Lambda's delete never reached it.
    await send(stack, [request]);
    const first = await pollUntilReceived(stack, async (event, context) => {
      await stack.handler(event, context);
      for (const record of event.Records) {
        await stack.runtime.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: stack.queue.url,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
      // The handler's response is dropped: the point is that SQS keeps the message.
      return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
    });
    expect(first.retried).toHaveLength(1);

    // Five copies in one batch and three more after: the redelivered original is among them.
    await send(stack, [request, request, request, request, request]);
    await send(stack, [request, request, request]);
    await runUntilIdle(stack, { idleMs: 4_000 });

    expect((await userIdsOf(stack, acme)).filter((id) => id === 'dup-1')).toEqual(['dup-1']);
    expect(creates(stack) - createsBefore).toBe(1);
    expect(onboardedEventsFor(stack, 'dup-1')).toHaveLength(1);
    expect(await queueDepth(stack.runtime.sqs, stack.queue.url)).toEqual({ visible: 0, inFlight: 0 });
    expect(await deadLetters()).toEqual([]);
  });

  it('converges an existing user with other attributes to the request and the policy', async () => {
    const createdAt = stack.emulator.now().getTime() - DAY_MS;
    stack.emulator.seed({
      appInstanceArn: acme,
      users: [
        {
          appInstanceUserId: 'guest-old',
          name: 'Old Name',
          metadata: '{"x":1}',
          createdAt: new Date(createdAt).toISOString(),
          expirationDays: 90,
        },
      ],
    });
    await send(stack, [
      { tenantId: 'acme', appInstanceUserId: 'guest-old', name: 'New Name', metadata: '{"x":2}' },
    ]);
    await runUntilIdle(stack);

    const user = await stack.runtime.chimeUsers.describe(arnOf(acme, 'guest-old'));
    expect(user).toMatchObject({ name: 'New Name', metadata: '{"x":2}', createdAt, expirationDays: 7 });
    expect(onboardedEventsFor(stack, 'guest-old')).toEqual([
      expect.objectContaining({
        result: 'converged',
        ruleId: 'guests',
        expirationDays: 7,
        changed: ['name', 'metadata', 'expiration'],
      }),
    ]);
    const entry = (await stack.runtime.ledger.getMany('acme', ['guest-old'])).get('guest-old');
    expect(entry).toMatchObject({ createdAt, expirationDays: 7, appliedRuleId: 'guests' });
  });

  it('retries throttled records later (visibility backoff) and they succeed; a failed try leaves no INPROGRESS record', async () => {
    stack.emulator.setFaults({ throttleRate: 1 });
    await send(stack, [
      { tenantId: 'acme', appInstanceUserId: 'thr-1', name: 'T1' },
      { tenantId: 'acme', appInstanceUserId: 'thr-2', name: 'T2' },
    ]);
    const failed = await pollUntilReceived(stack);
    expect(failed.outcome).toBe('failure');
    stack.emulator.setFaults({});
    // Powertools deleted the in-progress records of the failed attempts: nothing blocks the retry.
    const stuck = (await idempotencyItems(stack)).filter((item) => item.status === 'INPROGRESS');
    expect(stuck).toEqual([]);
    // The failed records wait for their backoff (1-2 s here) instead of coming straight back.
    const depth = await queueDepth(stack.runtime.sqs, stack.queue.url);
    expect(depth.inFlight).toBe(failed.received);

    await runUntilIdle(stack, { idleMs: 4_000 });
    for (const userId of ['thr-1', 'thr-2'].slice(0, failed.received)) {
      expect(await stack.runtime.chimeUsers.describe(arnOf(acme, userId)), userId).not.toBeNull();
      expect(onboardedEventsFor(stack, userId), userId).toHaveLength(1);
    }
    expect(await deadLetters()).toEqual([]);
  });

  it('dead-letters a record that keeps failing at its last receive, with the last error', async () => {
    stack.emulator.setFaults({ serviceUnavailableRate: 1 });
    try {
      await send(stack, [{ tenantId: 'acme', appInstanceUserId: 'doomed-1', name: 'D' }]);
      const source = runUntilIdle(stack, { idleMs: 6_000, timeoutMs: 50_000 });
      const letters = await waitFor(
        async () => {
          const found = await deadLetters();
          return found.length > 0 ? found : undefined;
        },
        { what: 'the message in the DLQ', timeoutMs: 50_000, intervalMs: 500 },
      );
      await source;
      expect(letters).toHaveLength(1);
      expect(letters[0]?.reason).toBe('retries-exhausted');
      expect(letters[0]?.detail).toMatch(/ServiceUnavailableException/);
      expect(JSON.parse(letters[0]?.body ?? '{}').appInstanceUserId).toBe('doomed-1');
    } finally {
      stack.emulator.setFaults({});
    }
    expect(await stack.runtime.chimeUsers.describe(arnOf(acme, 'doomed-1'))).toBeNull();
    // Leave the DLQ empty for the next test.
    const url = stack.queue.deadLetterUrl;
    await stack.runtime.deadLetters.redrive(url, stack.queue.url, 10);
    await runUntilIdle(stack);
    expect(onboardedEventsFor(stack, 'doomed-1')).toHaveLength(1);
  });

  it('dead-letters bad messages at once with their reason, and `dlq redrive` brings them back once fixed', async () => {
    const dormant = seedTenant(stack.emulator, [], 'dormant');
    await putPolicy(stack.runtime, 'dormant', dormant, { enabled: false });
    const late = seedTenant(stack.emulator, [], 'late');
    const secretName = 'Jane Secret-Name';
    const secretMetadata = '{"ssn":"123-45-6789"}';
    await send(stack, [
      '{"tenantId": "acme", not json',
      { tenantId: 'acme', appInstanceUserId: '-bad-', name: secretName, metadata: secretMetadata },
      JSON.stringify({
        tenantId: 'acme',
        appInstanceUserId: 'x1',
        name: secretName,
        appInstanceArn: dormant,
      }),
      JSON.stringify({ tenantId: 'acme', appInstanceUserId: 'x2', name: 'n', color: 'blue' }),
      { tenantId: 'dormant', appInstanceUserId: 'd-1', name: secretName, metadata: secretMetadata },
      { tenantId: 'late', appInstanceUserId: 'l-1', name: secretName, requestId: 'r-late' },
    ]);
    await runUntilIdle(stack);

    const letters = await deadLetters();
    const byReason = new Map(letters.map((letter) => [letter.reason, letter]));
    expect([...byReason.keys()].sort()).toEqual([
      'app-instance-not-allowed',
      'invalid-json',
      'invalid-message',
      'tenant-disabled',
      'tenant-not-found',
    ]);
    expect(letters).toHaveLength(6);
    expect(
      letters
        .filter((letter) => letter.reason === 'invalid-message')
        .map((l) => l.detail)
        .sort(),
    ).toEqual([
      '(root): unknown key(s) at position(s) 4 (keys are not echoed: they may hold personal data)',
      expect.stringContaining('appInstanceUserId: must be 1-64 characters'),
    ]);
    for (const letter of letters) {
      expect(letter.receiveCount, letter.reason).toBe(1);
      expect(letter.detail ?? '').not.toContain('Jane');
      expect(letter.detail ?? '').not.toContain('ssn');
    }
    const rejected = eventsOfType(stack, 'Onboarding Request Rejected').map(
      (event) => event.detail as Record<string, unknown>,
    );
    expect(rejected).toHaveLength(6);
    expect(rejected).toContainEqual(
      expect.objectContaining({
        reason: 'tenant-not-found',
        tenantId: 'late',
        appInstanceUserId: 'l-1',
        requestId: 'r-late',
      }),
    );
    expect(JSON.stringify(rejected)).not.toContain('Jane');
    expect(JSON.stringify(rejected)).not.toContain('ssn');
    expect(await queueDepth(stack.runtime.sqs, stack.queue.url)).toEqual({ visible: 0, inFlight: 0 });

    // The operator fixes both tenants and redrives through the CLI.
    await putPolicy(stack.runtime, 'dormant', dormant, { enabled: true });
    await putPolicy(stack.runtime, 'late', late);
    const output = await runCli('dlq', 'redrive', '--queue', 'onboarding', '--json');
    expect(JSON.parse(output)).toMatchObject({ moved: 6 });
    await runUntilIdle(stack);

    expect(await stack.runtime.chimeUsers.describe(arnOf(dormant, 'd-1'))).toMatchObject({
      expirationDays: 365,
    });
    expect(await stack.runtime.chimeUsers.describe(arnOf(late, 'l-1'))).not.toBeNull();
    // The malformed ones are rejected again: they are never retried in a loop, never lost.
    const again = await deadLetters();
    expect(again.map((letter) => letter.reason).sort()).toEqual([
      'app-instance-not-allowed',
      'invalid-json',
      'invalid-message',
      'invalid-message',
    ]);
  });
});

/** Runs `chime-lifecycle <args>` through commander (the dlq command reads the same environment). */
async function runCli(...args: string[]): Promise<string> {
  const program = new Command('chime-lifecycle').exitOverride();
  registerDlq(program);
  let output = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
  try {
    await program.parseAsync(['node', 'chime-lifecycle', ...args]);
  } finally {
    spy.mockRestore();
  }
  return output;
}
