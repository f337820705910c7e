import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerOnboard } from '../../../cli/commands/onboard';
import { register as registerWorker } from '../../../cli/commands/worker';
import { CliError, EXIT_INVALID } from '../../../cli/errors';
import { seedTenant } from '../../support/chime';
import { queueDepth, waitFor } from '../queues/helpers';
import {
  type OnboardingStack,
  onboardedEventsFor,
  putPolicy,
  startOnboardingStack,
  userIdsOf,
} from './support';

let stack: OnboardingStack;
let acme: string;
let directory: string;

beforeAll(async () => {
  // The commands read the same environment as the handler, which startOnboardingStack sets.
  stack = await startOnboardingStack();
  acme = seedTenant(stack.emulator, [], 'acme');
  await putPolicy(stack.runtime, 'acme', acme);
  directory = await mkdtemp(join(tmpdir(), 'onboard-cli-'));
});

afterAll(async () => {
  await stack?.close();
});

function program(): Command {
  const root = new Command('chime-lifecycle').exitOverride();
  registerOnboard(root);
  registerWorker(root);
  return root;
}

/** Runs a command in-process and collects what it wrote. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string; error?: unknown }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await program().parseAsync(['node', 'chime-lifecycle', ...args]);
    return { stdout, stderr };
  } catch (error) {
    return { stdout, stderr, error };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('chime-lifecycle onboard and worker', () => {
  it('onboard sends the valid lines in batches, reports invalid lines by number, exits 2; worker consumes them', async () => {
    const users = Array.from({ length: 23 }, (_, index) =>
      JSON.stringify({ tenantId: 'acme', appInstanceUserId: `cli-${index}`, name: `Person ${index}` }),
    );
    const lines = [
      ...users.slice(0, 5),
      '{"tenantId":"acme","appInstanceUserId":"cli-bad","name":"Secret Person","appInstanceArn":"x"}',
      '',
      ...users.slice(5),
      'not json',
    ];
    const file = join(directory, 'users.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);

    const result = await run('onboard', '--file', file, '--json');
    expect(result.error).toBeInstanceOf(CliError);
    expect((result.error as CliError).exitCode).toBe(EXIT_INVALID);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ sent: 23, unsent: [] });
    expect(summary.invalid).toEqual([
      { line: 6, reason: 'app-instance-not-allowed', detail: expect.stringContaining('appInstanceArn') },
      { line: 26, reason: 'invalid-json', detail: 'the message body is not valid JSON' },
    ]);
    expect(result.stdout).not.toContain('Secret');
    expect((await queueDepth(stack.runtime.sqs, stack.queue.url)).visible).toBe(23);
    // Each request carries its tenant as MessageGroupId: the onboarding queue is a fair queue
    // (docs/onboarding.md, "Fairness"). Looked at with a visibility of 0, so they stay for the worker.
    const { Messages: looked = [] } = await stack.runtime.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queue.url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    expect(looked.length).toBeGreaterThan(0);
    expect(looked.map((message) => message.Attributes?.MessageGroupId)).toEqual(looked.map(() => 'acme'));

    // The worker runs the real handler until it is signalled, then finishes what is in flight.
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const worker = program().parseAsync([
        'node',
        'chime-lifecycle',
        'worker',
        '--queue',
        'onboarding',
        '--concurrency',
        '2',
      ]);
      await waitFor(
        async () =>
          (await userIdsOf(stack, acme)).filter((id) => id.startsWith('cli-')).length === 23
            ? true
            : undefined,
        { what: '23 users', timeoutMs: 40_000, intervalMs: 250 },
      );
      await waitFor(async () => (stderr.includes('done') ? true : undefined), { what: 'a batch line' });
      process.emit('SIGTERM');
      await worker;
    } finally {
      spy.mockRestore();
    }
    expect(stderr).toMatch(/batch of \d+: \d+ done, 0 to retry/);
    expect(stderr).toContain('SIGTERM: finishing the batches in flight');
    expect(stderr).toMatch(/stopped: \d+ batch\(es\), 23 received, 23 done, 0 left for retry/);
    expect(stderr).not.toContain('Person');
    expect(onboardedEventsFor(stack, 'cli-0')).toHaveLength(1);
  });

  it('onboard without invalid lines exits normally and prints one summary line', async () => {
    const file = join(directory, 'ok.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ tenantId: 'acme', appInstanceUserId: 'cli-ok', name: 'n' })}\n`,
    );
    const result = await run('onboard', '--file', file);
    expect(result.error).toBeUndefined();
    expect(result.stdout).toBe(`sent 1 of 1 valid request(s) to ${stack.queue.url}\n`);
  });

  it('rejects bad flags with exit code 2', async () => {
    const missing = await run('onboard', '--file', join(directory, 'nope.jsonl'));
    expect((missing.error as CliError).exitCode).toBe(EXIT_INVALID);
    const queue = await run('worker', '--queue', 'everything');
    expect((queue.error as CliError).exitCode).toBe(EXIT_INVALID);
    const noWindow = await run(
      'worker',
      '--queue',
      'onboarding',
      '--batch-size',
      '11',
      '--batching-window',
      '0',
    );
    expect((noWindow.error as CliError).exitCode).toBe(EXIT_INVALID);
    expect((noWindow.error as CliError).message).toMatch(/--batching-window of at least 1/);
    const tooBig = await run('worker', '--queue', 'onboarding', '--batch-size', '10001');
    expect((tooBig.error as CliError).exitCode).toBe(EXIT_INVALID);
    const window = await run('worker', '--queue', 'onboarding', '--batching-window', 'soon');
    expect((window.error as CliError).exitCode).toBe(EXIT_INVALID);
  });
});
