import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  NotFoundException,
  ResourceLimitExceededException,
  ServiceFailureException,
  ServiceUnavailableException,
  ThrottledClientException,
  UnauthorizedClientException,
} from '@aws-sdk/client-chime-sdk-identity';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { QUEUE_SETTINGS } from '../../../shared/aws/queues';
import {
  checkRetryBackoff,
  chimeFailureVerdict,
  DEFAULT_RETRY_BACKOFF,
  describeFailure,
  OnboardingRejection,
  onboardingFailureVerdict,
  retryDelaySeconds,
} from '../../../shared/onboarding/retry';

const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });
const chimeError = <T>(Type: new (options: never) => T, status: number, message = 'boom'): T =>
  new Type({ message, ...meta(status) } as never);

describe('retryDelaySeconds', () => {
  const backoff = { baseSeconds: 2, capSeconds: 300 };

  it('grows exponentially with the receive count, between half and all of base * 2^(n-1)', () => {
    for (const [receiveCount, ceiling] of [
      [1, 2],
      [2, 4],
      [3, 8],
      [5, 32],
      [8, 256],
    ] as const) {
      expect(retryDelaySeconds(receiveCount, backoff, () => 0)).toBe(Math.ceil(ceiling / 2));
      expect(retryDelaySeconds(receiveCount, backoff, () => 0.999999)).toBe(ceiling);
    }
  });

  it('is capped, and the cap holds for huge or odd receive counts', () => {
    expect(retryDelaySeconds(9, backoff, () => 0.999999)).toBe(300);
    expect(retryDelaySeconds(10_000, backoff, () => 0.5)).toBeLessThanOrEqual(300);
    expect(retryDelaySeconds(Number.NaN, backoff, () => 0)).toBe(1);
    expect(retryDelaySeconds(0, backoff, () => 0)).toBe(1);
  });

  it('is at least one second and spreads messages throttled together', () => {
    const delays = new Set(Array.from({ length: 200 }, () => retryDelaySeconds(6, backoff)));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(32);
    expect(delays.size).toBeGreaterThan(10);
  });

  it('keeps every backoff of a message within the queue retention', () => {
    const total = Array.from({ length: QUEUE_SETTINGS.onboarding.maxReceiveCount }, (_, index) =>
      retryDelaySeconds(index + 1, DEFAULT_RETRY_BACKOFF, () => 0.999999),
    ).reduce((sum, delay) => sum + delay, 0);
    expect(total).toBeLessThan(QUEUE_SETTINGS.onboarding.messageRetentionPeriodSeconds);
    expect(() => checkRetryBackoff(DEFAULT_RETRY_BACKOFF)).not.toThrow();
    expect(() => checkRetryBackoff({ baseSeconds: 0, capSeconds: 10 })).toThrow(/base/);
    expect(() => checkRetryBackoff({ baseSeconds: 5, capSeconds: 4 })).toThrow(/cap/);
    expect(() => checkRetryBackoff({ baseSeconds: 5, capSeconds: 50_000 })).toThrow(/cap/);
  });
});

describe('error classification: retry or reject', () => {
  it.each([
    [chimeError(ThrottledClientException, 429), 'retry'],
    [chimeError(ServiceFailureException, 500), 'retry'],
    [chimeError(ServiceUnavailableException, 503), 'retry'],
    [chimeError(UnauthorizedClientException, 401), 'retry'],
    [chimeError(NotFoundException, 404), 'retry'],
    [chimeError(ConflictException, 409), 'retry'],
    [chimeError(BadRequestException, 400), 'chime-bad-request'],
    [chimeError(ForbiddenException, 403), 'chime-forbidden'],
    [chimeError(ResourceLimitExceededException, 400), 'chime-resource-limit'],
  ])('Chime %s → %s', (error, expected) => {
    const verdict = chimeFailureVerdict(error, 'CreateAppInstanceUser');
    expect(verdict.action === 'reject' ? verdict.reason : verdict.action).toBe(expected);
  });

  it('never rejects on errors that did not come from Chime, even with a 4xx status', () => {
    const dynamo = new ProvisionedThroughputExceededException({ message: 'slow down', ...meta(400) });
    const validation = Object.assign(new Error('bad'), { name: 'ValidationException', ...meta(400) });
    const timeout = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    for (const error of [dynamo, validation, timeout, 'a string', undefined]) {
      expect(chimeFailureVerdict(error, 'X')).toEqual({ action: 'retry' });
      expect(onboardingFailureVerdict(error)).toEqual({ action: 'retry' });
    }
  });

  it('rejects an OnboardingRejection with its own reason and detail', () => {
    expect(
      onboardingFailureVerdict(new OnboardingRejection('tenant-disabled', 'tenantId: disabled')),
    ).toEqual({
      action: 'reject',
      reason: 'tenant-disabled',
      detail: 'tenantId: disabled',
    });
  });

  it('leaves Chime messages (which may quote a name) out of the detail', () => {
    const error = chimeError(BadRequestException, 400, "Name 'Jane Doe' failed to satisfy constraint");
    const verdict = chimeFailureVerdict(error, 'CreateAppInstanceUser');
    expect(verdict).toEqual({
      action: 'reject',
      reason: 'chime-bad-request',
      detail: 'CreateAppInstanceUser: BadRequestException (HTTP 400)',
    });
    expect(describeFailure(error)).not.toContain('Jane');
    expect(describeFailure(new Error('outer', { cause: error }))).not.toContain('Jane');
  });
});
