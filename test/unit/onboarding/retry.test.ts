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
import { visibilityDelaySeconds } from '../../../shared/backoff';
import { toChimeCallError } from '../../../shared/chime/user-port';
import { DEFAULTS } from '../../../shared/config';
import { safeErrorText } from '../../../shared/errors';
import {
  chimeFailureVerdict,
  OnboardingRejection,
  onboardingFailureVerdict,
} from '../../../shared/onboarding/retry';
import {
  checkRetryBackoff,
  QUEUE_KINDS,
  QUEUE_SETTINGS,
  retryBackoffOf,
} from '../../../shared/queue-settings';

const meta = (status: number) => ({ $metadata: { httpStatusCode: status } });
const chimeError = <T>(Type: new (options: never) => T, status: number, message = 'boom'): T =>
  new Type({ message, ...meta(status) } as never);

describe('checkRetryBackoff', () => {
  it.each(QUEUE_KINDS)('keeps every backoff of a %s message within the queue retention', (kind) => {
    const backoff = retryBackoffOf(DEFAULTS, kind);
    const total = Array.from({ length: QUEUE_SETTINGS[kind].maxReceiveCount }, (_, index) =>
      visibilityDelaySeconds(index + 1, backoff, () => 0.999999),
    ).reduce((sum, delay) => sum + delay, 0);
    expect(total).toBeLessThan(QUEUE_SETTINGS[kind].messageRetentionPeriodSeconds);
  });

  it('refuses a base under 1 s, a cap under the base or over SQS maximum, and one outlasting retention', () => {
    expect(() => checkRetryBackoff('onboarding', { baseSeconds: 0, capSeconds: 10 })).toThrow(/base/);
    expect(() => checkRetryBackoff('onboarding', { baseSeconds: 5, capSeconds: 4 })).toThrow(/cap/);
    expect(() => checkRetryBackoff('onboarding', { baseSeconds: 5, capSeconds: 50_000 })).toThrow(/cap/);
    expect(() => checkRetryBackoff('reconcile', { baseSeconds: 5, capSeconds: 43_200 })).not.toThrow();
    expect(() =>
      retryBackoffOf({ ...DEFAULTS, activityRetryBaseSeconds: 10, activityRetryCapSeconds: 5 }, 'activity'),
    ).toThrow(/activity retry cap/);
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
    const verdict = chimeFailureVerdict(toChimeCallError(error, 'CreateAppInstanceUser'));
    expect(verdict.action === 'reject' ? verdict.reason : verdict.action).toBe(expected);
  });

  it('never rejects on errors that did not come through the Chime port, even with a 4xx status', () => {
    const dynamo = new ProvisionedThroughputExceededException({ message: 'slow down', ...meta(400) });
    const validation = Object.assign(new Error('bad'), { name: 'ValidationException', ...meta(400) });
    const timeout = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    for (const error of [dynamo, validation, timeout, 'a string', undefined]) {
      expect(chimeFailureVerdict(error)).toEqual({ action: 'retry' });
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
    const verdict = chimeFailureVerdict(toChimeCallError(error, 'CreateAppInstanceUser'));
    expect(verdict).toEqual({
      action: 'reject',
      reason: 'chime-bad-request',
      detail: 'CreateAppInstanceUser: BadRequestException (HTTP 400)',
    });
    expect(safeErrorText(error)).not.toContain('Jane');
    expect(safeErrorText(new Error('outer', { cause: error }))).not.toContain('Jane');
  });
});
