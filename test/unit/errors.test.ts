import { BadRequestException, ThrottledClientException } from '@aws-sdk/client-chime-sdk-identity';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { toChimeCallError } from '../../shared/chime/user-port';
import {
  ChimeCallError,
  isRetryable,
  LifecycleError,
  RetryableError,
  safeErrorText,
  TerminalError,
} from '../../shared/errors';

const PERSONAL = "Name 'Jane Doe' failed to satisfy constraint";

describe('the error hierarchy', () => {
  it('says retryable or terminal, and keeps the cause', () => {
    const cause = new Error('low level');
    const terminal = new TerminalError('tenant-not-found', 'tenantId: no policy', { cause });
    expect(terminal).toBeInstanceOf(LifecycleError);
    expect([terminal.retryable, terminal.terminal, terminal.cause]).toEqual([false, true, cause]);
    expect(new RetryableError('later').terminal).toBe(false);
  });

  it('isRetryable: our errors answer for themselves; anything else is retried', () => {
    expect(isRetryable(new TerminalError('x', 'y'))).toBe(false);
    expect(isRetryable(new RetryableError('x'))).toBe(true);
    expect(isRetryable(new TypeError('bug'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
  });

  it.each([
    [new ThrottledClientException({ message: 'slow', $metadata: { httpStatusCode: 429 } }), true],
    [new BadRequestException({ message: PERSONAL, $metadata: { httpStatusCode: 400 } }), false],
  ])('a Chime answer becomes a ChimeCallError (%#)', (sdkError, retryable) => {
    const error = toChimeCallError(sdkError, 'CreateAppInstanceUser');
    expect(error).toBeInstanceOf(ChimeCallError);
    expect(isRetryable(error)).toBe(retryable);
  });
});

describe('safeErrorText (the one error-to-text rule)', () => {
  it('never quotes a Chime message, directly, translated, or as a cause', () => {
    const chime = new BadRequestException({ message: PERSONAL, $metadata: { httpStatusCode: 400 } });
    const texts = [
      safeErrorText(chime),
      safeErrorText(toChimeCallError(chime, 'UpdateAppInstanceUser')),
      safeErrorText(new Error('outer', { cause: chime })),
      safeErrorText(new RetryableError('wrapped', { cause: chime })),
    ];
    for (const text of texts) expect(text).not.toContain('Jane');
    expect(texts[0]).toBe('BadRequestException (HTTP 400)');
    expect(texts[1]).toBe('UpdateAppInstanceUser: BadRequestException (HTTP 400)');
  });

  it('reduces any AWS service exception to its name and status; keeps our own messages', () => {
    const dynamo = new ConditionalCheckFailedException({
      message: 'item {x}',
      $metadata: { httpStatusCode: 400 },
    });
    expect(safeErrorText(dynamo)).toBe('ConditionalCheckFailedException (HTTP 400)');
    expect(safeErrorText(new TerminalError('invalid-message', 'tenantId: required'))).toBe(
      'TerminalError: invalid-message: tenantId: required',
    );
    expect(safeErrorText({ secret: 'Jane' })).toBe('non-error thrown (object)');
  });
});
