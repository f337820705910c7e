import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sqsRecord } from '../../support/fakes';

const NAME = 'Jane Secret-Name';
const METADATA = '{"ssn":"123-45-6789"}';

const context = {
  functionName: 'onboard-users',
  functionVersion: '1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:onboard-users',
  memoryLimitInMB: '128',
  awsRequestId: 'req-1',
  logGroupName: 'g',
  logStreamName: 's',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

describe('handlers never log an event, whatever POWERTOOLS_LOGGER_LOG_EVENT says', () => {
  const output: string[] = [];
  beforeAll(() => {
    vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    // The logger as deployed (JSON lines on stdout, captured below), not the development mode the tests use.
    vi.stubEnv('POWERTOOLS_DEV', 'false');
    // Nothing listens here: every AWS call fails at once, which the handler logs (without the body).
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    vi.stubEnv('AWS_MAX_ATTEMPTS', '1');
    const capture = (chunk: unknown) => {
      output.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  });
  afterAll(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('onboard-users: a batch with a name and metadata leaves neither in the logs', async () => {
    const { handler } = await import('../../../functions/onboard-users/handler');
    const body = JSON.stringify({
      tenantId: 'acme',
      appInstanceUserId: 'u-1',
      name: NAME,
      metadata: METADATA,
    });
    const invalid = JSON.stringify({
      tenantId: 'acme',
      appInstanceUserId: 'u-2',
      name: NAME,
      extra: METADATA,
    });
    const event: SQSEvent = {
      Records: [sqsRecord(body, { messageId: 'a' }), sqsRecord(invalid, { messageId: 'b' })],
    };
    const response = await handler(event, context);
    // Both records failed on the unreachable services, and that was logged.
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['a', 'b']);
    const logs = output.join('');
    expect(logs).toMatch(/"messageId":"a"/);
    expect(logs).not.toMatch(/Lambda invocation event/);
    expect(logs).not.toContain('Jane');
    expect(logs).not.toContain('ssn');
  }, 60_000);

  it('reconcile-tenant: the event is not logged either', async () => {
    const { handler } = await import('../../../functions/reconcile-tenant/handler');
    const event: SQSEvent = {
      Records: [sqsRecord(JSON.stringify({ kind: 'start', tenantId: 'acme', trigger: NAME }))],
    };
    const response = await handler(event, context);
    // Invalid (the trigger), and its DLQ copy failed on the unreachable queue: the record comes back.
    expect(response.batchItemFailures).toHaveLength(1);
    const logs = output.join('');
    expect(logs).not.toMatch(/Lambda invocation event/);
    expect(logs).not.toContain('Jane');
  }, 60_000);
});
