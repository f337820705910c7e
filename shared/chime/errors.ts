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
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { ChimeFailureKind } from '../errors';

/** The classification's vocabulary is the error kernel's (shared/errors.ts); this module decides it. */
export type ChimeErrorKind = ChimeFailureKind;

/** Exception classes first: they are what the SDK builds for every modelled error. */
const BY_CLASS: ReadonlyArray<readonly [abstract new (...args: never[]) => Error, ChimeErrorKind]> = [
  [ThrottledClientException, 'throttled'],
  [ServiceFailureException, 'retryable'],
  [ServiceUnavailableException, 'retryable'],
  [ConflictException, 'conflict'],
  [NotFoundException, 'not-found'],
  [ResourceLimitExceededException, 'resource-limit'],
  [BadRequestException, 'bad-request'],
  [ForbiddenException, 'forbidden'],
  [UnauthorizedClientException, 'unauthorized'],
];

/**
 * By name: NotFoundException is not declared on the user operations, so for them the SDK may build a
 * generic ServiceException that only carries the name the server sent.
 */
const BY_NAME: Readonly<Record<string, ChimeErrorKind>> = {
  ThrottledClientException: 'throttled',
  ServiceFailureException: 'retryable',
  ServiceUnavailableException: 'retryable',
  ConflictException: 'conflict',
  NotFoundException: 'not-found',
  ResourceLimitExceededException: 'resource-limit',
  BadRequestException: 'bad-request',
  ForbiddenException: 'forbidden',
  UnauthorizedClientException: 'unauthorized',
};

/** By HTTP status, last. 400 is ambiguous (ResourceLimitExceeded is also 400) and maps to bad-request. */
const BY_STATUS: Readonly<Record<number, ChimeErrorKind>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  429: 'throttled',
};

function httpStatusOf(error: object): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/**
 * What a failed Chime call means for the caller. Forbidden is its own kind and never "not-found":
 * a 403 can be an IAM or account problem, and treating it as "the user is gone" would make the
 * reconciler forget users it merely may not read.
 * Throttling and transient failures (5xx, timeouts, ECONNRESET and friends) reuse the SDK's own
 * classification, so this and the retry strategy agree on what is worth retrying.
 */
export function classifyChimeError(error: unknown): ChimeErrorKind {
  if (typeof error !== 'object' || error === null) return 'unknown';
  for (const [type, kind] of BY_CLASS) if (error instanceof type) return kind;
  const name = (error as { name?: unknown }).name;
  const byName = typeof name === 'string' ? BY_NAME[name] : undefined;
  if (byName) return byName;
  const sdkError = error as Parameters<typeof isThrottlingError>[0];
  if (isThrottlingError(sdkError)) return 'throttled';
  if (isTransientError(sdkError)) return 'retryable';
  const status = httpStatusOf(error);
  if (status === undefined) return 'unknown';
  return BY_STATUS[status] ?? 'unknown';
}

/** Whether a call that failed this way may succeed when simply repeated later. */
export function isRetryableChimeError(error: unknown): boolean {
  const kind = classifyChimeError(error);
  return kind === 'throttled' || kind === 'retryable';
}
