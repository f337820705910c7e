import { type ChildProcess, spawn } from 'node:child_process';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentFor } from '../../../local/environment';
import { freePort } from '../../../local/free-port';
import { ensureQueues } from '../../../local/queue-provisioning';
import { type SqsServer, startSqsServer } from '../../../local/sqs-server';
import type { Runtime } from '../../../shared/composition-root';
import { dynamoDbUrl } from '../../support/context';
import { testRuntime } from '../../support/stack';
import { createWorkDir, offlineEnv, SERVERLESS_BIN, type WorkDir } from './workdir';

/**
 * `serverless offline start --stage local`: serverless-offline 14 runs the esbuild bundles and exposes the
 * Lambda Invoke API, through which the local stack drives the functions. Checks that it boots, that the
 * functions get the local stack's names and endpoints, and that they really reach DynamoDB and SQS.
 */
describe('serverless offline (stage local)', () => {
  let work: WorkDir;
  let sqs: SqsServer;
  let runtime: Runtime;
  let offline: ChildProcess | undefined;
  let output = '';
  let lambdaUrl: string;
  let reconcileQueueUrl: string;

  beforeAll(async () => {
    work = createWorkDir();
    sqs = await startSqsServer({ port: 0 });
    runtime = await testRuntime({ runtime: { endpoints: { sqs: sqs.url } } });
    reconcileQueueUrl = (await ensureQueues(runtime.sqs, runtime.config)).reconcile.url;
    const lambdaPort = await freePort();
    const env = offlineEnv(work.home, {
      ...environmentFor(runtime.config, {
        dynamodb: dynamoDbUrl(),
        sqs: sqs.url,
        // Not called by the invocations below; nothing listens there.
        chime: 'http://127.0.0.1:9',
        eventbridge: 'http://127.0.0.1:9',
      }),
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    offline = spawn(
      process.execPath,
      [SERVERLESS_BIN, 'offline', 'start', '--stage', 'local', '--lambdaPort', String(lambdaPort)],
      { cwd: work.path, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    offline.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    offline.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    const deadline = Date.now() + 120_000;
    while (!output.includes(`listening on http://localhost:${lambdaPort}`)) {
      if (offline.exitCode !== null || Date.now() > deadline) {
        throw new Error(`serverless offline did not start:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    lambdaUrl = `http://localhost:${lambdaPort}`;
  }, 150_000);

  afterAll(async () => {
    if (offline?.pid && offline.exitCode === null) {
      const exited = new Promise((resolve) => offline?.once('exit', resolve));
      // The whole group: serverless and the workers it started.
      process.kill(-offline.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (offline.exitCode === null) process.kill(-offline.pid, 'SIGKILL');
    }
    runtime?.destroy();
    await sqs?.close();
    work?.remove();
  });

  /**
   * Lambda's Invoke API (what `LambdaClient.send(new InvokeCommand(...))` calls; serverless-offline checks no
   * signature), with plain fetch so the test needs no Lambda client.
   */
  async function invoke(name: string, event: unknown): Promise<unknown> {
    const response = await fetch(
      `${lambdaUrl}/2015-03-31/functions/chime-lifecycle-local-${name}/invocations`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amz-invocation-type': 'RequestResponse' },
        body: JSON.stringify(event),
      },
    );
    const payload = await response.text();
    expect(response.status, payload).toBe(200);
    expect(response.headers.get('x-amz-function-error'), payload).toBeNull();
    return JSON.parse(payload);
  }

  it('exposes every function under chime-lifecycle-local-<name>, with the schedule left to the local stack', async () => {
    for (const name of ['schedule-sync', 'reconcile-tenant', 'onboard-users', 'policy-changed']) {
      expect(output).toContain(`chime-lifecycle-local-${name}`);
    }
    // serverless-offline prints the schedule line just after it starts listening.
    const deadline = Date.now() + 15_000;
    while (!/Scheduling \[schedule-sync\]/.test(output) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toMatch(/Scheduling \[schedule-sync\] cron: disabled/);
  });

  it('runs schedule-sync against the local policy table', async () => {
    await expect(invoke('schedule-sync', {})).resolves.toEqual({ queued: [], skipped: [] });
  });

  it('runs policy-changed, which queues a reconcile message on the local queue', async () => {
    const event = {
      Records: [
        {
          eventName: 'INSERT',
          dynamodb: {
            Keys: { tenantId: { S: 'acme' } },
            NewImage: { tenantId: { S: 'acme' }, version: { N: '1' }, enabled: { BOOL: true } },
          },
        },
      ],
    };
    await expect(invoke('policy-changed', event)).resolves.toEqual({ queued: ['acme'] });
    const { Messages = [] } = await runtime.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: reconcileQueueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }),
    );
    expect(Messages.map((message) => JSON.parse(message.Body ?? 'null'))).toEqual([
      { kind: 'start', tenantId: 'acme', trigger: 'policy-changed' },
    ]);
  });
});
