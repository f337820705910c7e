/**
 * The admin API under `/_emulator/`: reset, stats, clock, faults, seed, health. Never counted or throttled.
 * Errors use the same rest-json error shape as the API.
 */
import type { CallLog } from './caller';
import type { EmulatorClock } from './clock';
import { ApiError, badRequest } from './errors';
import type { SeedUser } from './operations/users';
import type { ChimeIdentityService } from './service';
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
  /** Region of the new AppInstance (default: the emulator's `region`); not with `appInstanceArn`. */
  region?: string;
  /** Account of the new AppInstance (default: the emulator's `accountId`); not with `appInstanceArn`. */
  accountId?: string;
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
  readonly callLog: CallLog;
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

/**
 * The range the emulator clock and every seeded timestamp must stay in: 1970-01-01 to the end of 9999. Beyond
 * it, creation time plus the longest expiration (5475 days) still makes a valid Date, so nothing downstream
 * (health, describe, the sweep) can meet an invalid time.
 */
export const EARLIEST_MS = 0;
export const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const RANGE_TEXT = '1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z';
/** ISO 8601 as `Date.parse` reads it reliably: a calendar date, optionally a time and a zone. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function parseInstant(value: unknown): number {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) return Number.NaN;
  return Date.parse(value);
}

/**
 * Applies `{ advanceSeconds }` or `{ now }` and runs the expiry sweep before returning. Everything is checked
 * before the clock moves, so a refused request changes nothing.
 */
export function moveClock(
  context: AdminContext,
  body: unknown,
): { now: string; epochSeconds: number; swept: number } {
  if (!isObject(body)) throw badRequest('body: must be a JSON object');
  const { advanceSeconds, now } = body;
  if ((advanceSeconds === undefined) === (now === undefined)) {
    throw badRequest('body: give exactly one of advanceSeconds or now');
  }
  let target: number;
  if (advanceSeconds !== undefined) {
    const current = context.clock.now();
    const maxSeconds = Math.floor((LATEST_MS - current) / 1000);
    if (
      typeof advanceSeconds !== 'number' ||
      !Number.isFinite(advanceSeconds) ||
      advanceSeconds < 0 ||
      advanceSeconds > maxSeconds
    ) {
      throw badRequest(
        `advanceSeconds: must be a number between 0 and ${maxSeconds} (the clock must stay before 10000-01-01), got ${describe(advanceSeconds)}`,
      );
    }
    target = current + advanceSeconds * 1000;
  } else {
    target = parseInstant(now);
    if (Number.isNaN(target) || target < EARLIEST_MS || target > LATEST_MS) {
      throw badRequest(
        `now: must be an ISO 8601 date-time (e.g. 2030-01-01T00:00:00Z) between ${RANGE_TEXT}, got ${describe(now)}`,
      );
    }
  }
  context.clock.set(target);
  const swept = context.service.sweepExpired();
  return { ...clockView(context.clock), swept };
}

/** A short rendering of a rejected value for an error message. */
function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A seeded user's creation time: ISO 8601 or epoch seconds, from 1970 up to the emulator's now (a user cannot
 * have been created in the future).
 */
function parseCreatedAt(value: unknown, path: string, nowMs: number): number {
  if (value === undefined || value === null) return nowMs;
  const ms =
    typeof value === 'number' && Number.isFinite(value)
      ? value * 1000
      : typeof value === 'string'
        ? parseInstant(value)
        : Number.NaN;
  if (Number.isNaN(ms) || ms < EARLIEST_MS || ms > nowMs) {
    throw badRequest(
      `${path}: must be an ISO 8601 date-time or epoch seconds between 1970-01-01T00:00:00.000Z and the emulator's now (${new Date(nowMs).toISOString()}), got ${describe(value)}`,
    );
  }
  return ms;
}

const SEED_REGION = /^[a-z]{2,}(?:-[a-z]+)*-[0-9]+$/;
const SEED_ACCOUNT = /^[0-9]{12}$/;

/** The seed's `region` and `accountId` for a new AppInstance, checked; undefined members keep the defaults. */
function seedScope(
  body: Record<string, unknown>,
  existing: boolean,
): { region?: string; account?: string } | undefined {
  const { region, accountId } = body;
  if (region === undefined && accountId === undefined) return undefined;
  if (existing) throw badRequest('region, accountId: only for a new AppInstance, not with appInstanceArn');
  if (region !== undefined && (typeof region !== 'string' || !SEED_REGION.test(region))) {
    throw badRequest(`region: must be a Region name such as eu-central-1, got ${describe(region)}`);
  }
  if (accountId !== undefined && (typeof accountId !== 'string' || !SEED_ACCOUNT.test(accountId))) {
    throw badRequest(`accountId: must be 12 digits, got ${describe(accountId)}`);
  }
  return {
    ...(region === undefined ? {} : { region: region as string }),
    ...(accountId === undefined ? {} : { account: accountId as string }),
  };
}

/** Validates every user like the API would (paths name the index), then loads them without quotas. */
export function seed(context: AdminContext, body: unknown): SeedResult {
  if (!isObject(body)) throw badRequest('body: must be a JSON object');
  const { appInstanceArn, appInstanceName, users } = body;
  if (!Array.isArray(users)) throw badRequest('users: is required and must be a list');
  const where = seedScope(body, appInstanceArn !== undefined);
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
  // An existing AppInstance named by ARN is added to; with a name as well, a missing one is created under
  // that ARN (a demo's known ARNs); otherwise a new one gets a random id, as Chime gives.
  const existing =
    appInstanceArn !== undefined && context.service.userCount(appInstanceArn as string) !== undefined;
  if (appInstanceArn !== undefined && (existing || appInstanceName === undefined)) {
    const arn = appInstanceArn as string;
    return { appInstanceArn: arn, userArns: context.service.seedUsers(arn, seeds) };
  }
  const arn = context.service.createAppInstanceDirect(
    (appInstanceName as string | undefined) ?? 'emulator-seed',
    undefined,
    where,
    appInstanceArn as string | undefined,
  );
  try {
    return { appInstanceArn: arn, userArns: context.service.seedUsers(arn, seeds) };
  } catch (error) {
    // A refused seed (e.g. over the users-per-AppInstance limit) leaves no empty AppInstance behind.
    context.service.removeAppInstanceDirect(arn);
    throw error;
  }
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
    case 'GET /_emulator/calls':
      return { status: 200, body: { calls: context.callLog.list() } };
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
