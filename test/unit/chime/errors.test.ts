import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BadRequestException,
  ChimeSDKIdentityClient,
  ChimeSDKIdentityServiceException,
  ConflictException,
  DescribeAppInstanceUserCommand,
  ForbiddenException,
  NotFoundException,
  ResourceLimitExceededException,
  ServiceFailureException,
  ServiceUnavailableException,
  ThrottledClientException,
  UnauthorizedClientException,
} from '@aws-sdk/client-chime-sdk-identity';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyChimeError, isRetryableChimeError } from '../../../shared/chime/errors';

const $metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const USER_ARN = 'arn:aws:chime:us-east-1:111122223333:app-instance/app/user/u1';

describe('classifyChimeError: modelled exceptions', () => {
  it.each([
    [new ThrottledClientException({ message: 'slow down', ...$metadata(429) }), 'throttled'],
    [new ServiceFailureException({ message: 'boom', ...$metadata(500) }), 'retryable'],
    [new ServiceUnavailableException({ message: 'later', ...$metadata(503) }), 'retryable'],
    [new ConflictException({ message: 'exists', ...$metadata(409) }), 'conflict'],
    [new NotFoundException({ message: 'gone', ...$metadata(404) }), 'not-found'],
    [new ForbiddenException({ message: 'no', ...$metadata(403) }), 'forbidden'],
    [new UnauthorizedClientException({ message: 'who', ...$metadata(401) }), 'unauthorized'],
    [new ResourceLimitExceededException({ message: 'full', ...$metadata(400) }), 'resource-limit'],
    [new BadRequestException({ message: 'bad', ...$metadata(400) }), 'bad-request'],
  ] as const)('%s → %s', (error, kind) => {
    expect(classifyChimeError(error)).toBe(kind);
  });

  it('never reads Forbidden as not-found', () => {
    expect(classifyChimeError(new ForbiddenException({ message: 'x', ...$metadata(403) }))).toBe('forbidden');
  });
});

describe('classifyChimeError: fallbacks', () => {
  it('uses the error name of an unmodelled service exception', () => {
    const error = new ChimeSDKIdentityServiceException({
      name: 'NotFoundException',
      $fault: 'client',
      message: 'missing',
      ...$metadata(404),
    });
    expect(classifyChimeError(error)).toBe('not-found');
  });

  it.each([
    [404, 'not-found'],
    [409, 'conflict'],
    [403, 'forbidden'],
    [401, 'unauthorized'],
    [400, 'bad-request'],
    [429, 'throttled'],
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
    [418, 'unknown'],
  ] as const)('uses the HTTP status %i of an unnamed error', (status, kind) => {
    expect(classifyChimeError(Object.assign(new Error('x'), { name: 'Weird', ...$metadata(status) }))).toBe(
      kind,
    );
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE'])('treats %s as retryable', (code) => {
    expect(classifyChimeError(Object.assign(new Error('socket'), { code }))).toBe('retryable');
  });

  it('treats SDK timeouts as retryable and aborts as unknown', () => {
    expect(classifyChimeError(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toBe('retryable');
    expect(classifyChimeError(Object.assign(new Error('a'), { name: 'AbortError' }))).toBe('unknown');
  });

  it('returns unknown for non-errors and plain errors', () => {
    expect(classifyChimeError(undefined)).toBe('unknown');
    expect(classifyChimeError('string')).toBe('unknown');
    expect(classifyChimeError(new Error('plain'))).toBe('unknown');
  });

  it('calls only throttles and transient failures retryable', () => {
    expect(isRetryableChimeError(new ThrottledClientException({ message: 'x', ...$metadata(429) }))).toBe(
      true,
    );
    expect(isRetryableChimeError(new ServiceFailureException({ message: 'x', ...$metadata(500) }))).toBe(
      true,
    );
    expect(isRetryableChimeError(new ConflictException({ message: 'x', ...$metadata(409) }))).toBe(false);
  });
});

describe('classifyChimeError on errors the real SDK raises', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function endpointOfClosedPort(): Promise<string> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return `http://127.0.0.1:${port}`;
  }

  function sdkClient(endpoint: string): ChimeSDKIdentityClient {
    return new ChimeSDKIdentityClient({
      endpoint,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }

  it('classifies a refused connection as retryable', async () => {
    const client = sdkClient(await endpointOfClosedPort());
    const error = await client
      .send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: USER_ARN }))
      .catch((e) => e);
    expect(classifyChimeError(error)).toBe('retryable');
  });

  it('classifies an unmodelled 404 from a server as not-found', async () => {
    const server = createServer((_, response) => {
      response.writeHead(404, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'NotFoundException',
      });
      response.end(JSON.stringify({ Code: 'NotFound', Message: 'no such user' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    close = () => new Promise<void>((resolve) => server.close(() => resolve()));
    const { port } = server.address() as AddressInfo;
    const client = sdkClient(`http://127.0.0.1:${port}`);
    const error = await client
      .send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: USER_ARN }))
      .catch((e) => e);
    expect(classifyChimeError(error)).toBe('not-found');
    client.destroy();
  });

  it('classifies a request timeout as retryable (mocked: a server cannot time out on cue)', async () => {
    const client = sdkClient('http://127.0.0.1:1');
    const mock = mockClient(client);
    mock
      .on(DescribeAppInstanceUserCommand)
      .rejects(Object.assign(new Error('Connection timed out after 10000 ms'), { name: 'TimeoutError' }));
    const error = await client
      .send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: USER_ARN }))
      .catch((e) => e);
    expect(classifyChimeError(error)).toBe('retryable');
    mock.restore();
  });
});
