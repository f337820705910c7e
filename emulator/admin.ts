/**
 * The admin API under `/_emulator/`: reset, stats, clock, faults, seed, health. Never counted or throttled.
 * Errors use the same rest-json error shape as the API.
 */
import type { EmulatorClock } from './clock';
import { ApiError, badRequest } from './errors';
import type { ChimeIdentityService, SeedUser } from './service';
import type { ValidatorSet } from './validation';

export interface FaultSettings {
  /** Probability (0..1) that an API call fails with ThrottledClientException (429). */
  throttleRate: number;
  /** Probability (0..1) that an API call fails with ServiceFailureException (500). */
  serviceFailureRate: number;
  /** Probability (0..1) that an API call fails with ServiceUnavailableException (503). */
  serviceUnavailableRate: number;
  /** Delay added before every API call is answered. */
  latencyMs: number;
}

export const NO_FAULTS: FaultSettings = {
  throttleRate: 0,
  serviceFailureRate: 0,
  serviceUnavailableRate: 0,
  latencyMs: 0,
};

export interface EmulatorStats {
  calls: Record<string, number>;
  throttled: Record<string, number>;
  faults: number;
}

export interface SeedRequest {
  appInstanceArn?: string;
  appInstanceName?: string;
  users: readonly {
    appInstanceUserId: string;
    name: string;
    metadata?: string;
    createdAt?: string | number;
    expirationDays?: number;
  }[];
}

export interface SeedResult {
  appInstanceArn: string;
  userArns: string[];
}

export interface AdminContext {
  readonly service: ChimeIdentityService;
  readonly validators: ValidatorSet;
  readonly clock: EmulatorClock;
  readonly stats: EmulatorStats;
  faults: FaultSettings;
  resetAll(): void;
}

export function clockView(clock: EmulatorClock): { now: string; epochSeconds: number } {
  const now = clock.now();
  return { now: new Date(now).toISOString(), epochSeconds: now / 1000 };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseFaults(body: unknown): FaultSettings {
  if (!isObject(body)) throw badRequest('body: must be a JSON object');
  const faults: FaultSettings = { ...NO_FAULTS };
  for (const [key, value] of Object.entries(body)) {
    if (key === 'throttleRate' || key === 'serviceFailureRate' || key === 'serviceUnavailableRate') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
        throw badRequest(`${key}: must be a number between 0 and 1`);
      }
      faults[key] = value;
    } else if (key === 'latencyMs') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 60_000) {
        throw badRequest('latencyMs: must be a number between 0 and 60000');
      }
      faults.latencyMs = value;
    } else {
      throw badRequest(
        `${key}: unknown fault setting (expected throttleRate, serviceFailureRate, serviceUnavailableRate, latencyMs)`,
      );
    }
  }
  return faults;
}

/** Applies `{ advanceSeconds }` or `{ now }` and runs the expiry sweep before returning. */
export function moveClock(
  context: AdminContext,
  body: unknown,
): { now: string; epochSeconds: number; swept: number } {
  if (!isObject(body)) throw badRequest('body: must be a JSON object');
  const { advanceSeconds, now } = body;
  if ((advanceSeconds === undefined) === (now === undefined)) {
    throw badRequest('body: give exactly one of advanceSeconds or now');
  }
  if (advanceSeconds !== undefined) {
    if (typeof advanceSeconds !== 'number' || !Number.isFinite(advanceSeconds) || advanceSeconds < 0) {
      throw badRequest('advanceSeconds: must be a non-negative number');
    }
    context.clock.advance(advanceSeconds);
  } else {
    const target = typeof now === 'string' ? Date.parse(now) : Number.NaN;
    if (Number.isNaN(target)) throw badRequest('now: must be an ISO 8601 date-time string');
    context.clock.set(target);
  }
  const swept = context.service.sweepExpired();
  return { ...clockView(context.clock), swept };
}

function parseCreatedAt(value: unknown, path: string, fallbackMs: number): number {
  if (value === undefined || value === null) return fallbackMs;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw badRequest(`${path}: must be an ISO 8601 date-time string or epoch seconds`);
}

/** Validates every user like the API would (paths name the index), then loads them without quotas. */
export function seed(context: AdminContext, body: unknown): SeedResult {
  if (!isObject(body)) throw badRequest('body: must be a JSON object');
  const { appInstanceArn, appInstanceName, users } = body;
  if (!Array.isArray(users)) throw badRequest('users: is required and must be a list');
  const validate = {
    arn: context.validators.forShape('ChimeArn'),
    appInstanceName: context.validators.forShape('NonEmptyResourceName'),
    userId: context.validators.forShape('UserId'),
    name: context.validators.forShape('UserName'),
    metadata: context.validators.forShape('Metadata'),
    expirationDays: context.validators.forShape('ExpirationDays'),
  };
  if (appInstanceArn !== undefined) {
    const problem = validate.arn(appInstanceArn, 'appInstanceArn');
    if (problem) throw badRequest(problem);
  }
  if (appInstanceName !== undefined) {
    const problem = validate.appInstanceName(appInstanceName, 'appInstanceName');
    if (problem) throw badRequest(problem);
  }
  const now = context.clock.now();
  const seeds: SeedUser[] = new Array(users.length);
  const seenIds = new Set<string>();
  for (let i = 0; i < users.length; i++) {
    const user: unknown = users[i];
    const at = `users[${i}]`;
    if (!isObject(user)) throw badRequest(`${at}: must be an object`);
    const problem =
      validate.userId(user.appInstanceUserId, `${at}.appInstanceUserId`) ??
      validate.name(user.name, `${at}.name`) ??
      (user.metadata === undefined ? undefined : validate.metadata(user.metadata, `${at}.metadata`)) ??
      (user.expirationDays === undefined
        ? undefined
        : validate.expirationDays(user.expirationDays, `${at}.expirationDays`));
    if (problem) throw badRequest(problem);
    if (seenIds.has(user.appInstanceUserId as string)) {
      throw badRequest(`${at}.appInstanceUserId: ${String(user.appInstanceUserId)} appears more than once`);
    }
    seenIds.add(user.appInstanceUserId as string);
    seeds[i] = {
      userId: user.appInstanceUserId as string,
      name: user.name as string,
      metadata: user.metadata as string | undefined,
      createdMs: parseCreatedAt(user.createdAt, `${at}.createdAt`, now),
      expirationDays: user.expirationDays as number | undefined,
    };
  }
  const arn =
    (appInstanceArn as string | undefined) ??
    context.service.createAppInstanceDirect(
      (appInstanceName as string | undefined) ?? 'emulator-seed',
      undefined,
    );
  return { appInstanceArn: arn, userArns: context.service.seedUsers(arn, seeds) };
}

/** Routes one admin request; returns the status and JSON body. */
export function handleAdmin(
  context: AdminContext,
  method: string,
  path: string,
  body: unknown,
): { status: number; body: unknown } {
  const route = `${method} ${path}`;
  switch (route) {
    case 'POST /_emulator/reset':
      context.resetAll();
      return { status: 200, body: { reset: true } };
    case 'GET /_emulator/stats':
      return { status: 200, body: context.stats };
    case 'GET /_emulator/clock':
      return { status: 200, body: clockView(context.clock) };
    case 'POST /_emulator/clock':
      return { status: 200, body: moveClock(context, body) };
    case 'GET /_emulator/faults':
      return { status: 200, body: context.faults };
    case 'POST /_emulator/faults':
      context.faults = parseFaults(body);
      return { status: 200, body: context.faults };
    case 'POST /_emulator/seed':
      return { status: 201, body: seed(context, body) };
    case 'POST /_emulator/sweep':
      return { status: 200, body: { swept: context.service.sweepExpired() } };
    case 'GET /_emulator/health':
      return {
        status: 200,
        body: {
          ok: true,
          rssBytes: process.memoryUsage.rss(),
          heapUsedBytes: process.memoryUsage().heapUsed,
          ...context.service.counts(),
          ...clockView(context.clock),
        },
      };
    default:
      throw new ApiError('NotFoundException', `no admin route ${method} ${path}`);
  }
}
