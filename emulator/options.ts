/** The emulator's options, their defaults, and the checks that refuse a bad one before anything starts. */
import type { CloudTrailSinkOption } from './cloudtrail';
import { DEFAULT_LIMITS, type ResourceLimits } from './records';

export interface ChimeEmulatorOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Interface to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Multiplies every API rate quota (default 1 = the AWS defaults). Must be > 0. */
  readonly quotaScale?: number;
  /** false disables all rate quotas (throttling). Default true. */
  readonly quotas?: boolean;
  /** How long after expiry the sweeper deletes a user (default 21600 s = 6 h, like AWS's "within 6 hours"). */
  readonly expiryDelaySeconds?: number;
  /** The Region of unsigned requests and of the admin seed's AppInstances (default us-east-1). */
  readonly region?: string;
  /** The account of every access key `accountOfAccessKey` does not place (default 111122223333). */
  readonly accountId?: string;
  /**
   * The account an access key belongs to, e.g. the role credentials of a local STS (local/sts-server.ts).
   * A request acts in its key's account: it sees and creates only that account's AppInstances.
   */
  readonly accountOfAccessKey?: (accessKeyId: string) => string | undefined;
  /** How many recent API calls `GET /_emulator/calls` keeps (default 10,000; 0 keeps none). */
  readonly callLogSize?: number;
  /** Resource limits (AppInstances per account, users per AppInstance, ...); defaults are AWS's. */
  readonly limits?: Partial<ResourceLimits>;
  /** Real-time period of the background expiry sweep (default 1000 ms). */
  readonly sweepIntervalMs?: number;
  /** false accepts requests without a SigV4 Authorization header (default true: such requests get 401). */
  readonly requireAuth?: boolean;
  /** Body cap for API requests (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Body cap for `POST /_emulator/seed` (default 128 MiB). */
  readonly maxSeedBodyBytes?: number;
  /**
   * Keep the state in this file: loaded at start when it exists, saved (atomically) within `saveIntervalMs`
   * of any change and on close. Without it everything lives in memory only.
   */
  readonly stateFile?: string;
  /** How often a changed state is saved to `stateFile` (default 1000 ms). */
  readonly saveIntervalMs?: number;
  /**
   * Where to deliver the CloudTrail events of user deletions (expiry sweeps and DeleteAppInstanceUser), as
   * EventBridge delivers them on the default bus: the URL of a PutEvents endpoint (a local EventBridge), or a
   * function. Absent: they are not produced.
   */
  readonly cloudTrailEvents?: CloudTrailSinkOption;
}

/** Every option with its default applied and checked. */
export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly quotaScale: number;
  readonly quotasEnabled: boolean;
  readonly expiryDelaySeconds: number;
  readonly sweepIntervalMs: number;
  readonly region: string;
  readonly accountId: string;
  readonly accountOfAccessKey: ((accessKeyId: string) => string | undefined) | undefined;
  readonly callLogSize: number;
  readonly requireAuth: boolean;
  readonly maxBodyBytes: number;
  readonly maxSeedBodyBytes: number;
  readonly limits: ResourceLimits;
  readonly stateFile: string | undefined;
  readonly saveIntervalMs: number;
  readonly cloudTrailEvents: CloudTrailSinkOption | undefined;
}

const MiB = 1024 * 1024;
const DEFAULT_ACCOUNT = '111122223333';

function positiveOrThrow(name: string, value: number, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`,
    );
  }
  return value;
}

/** Applies the defaults; a port, scale, delay or interval out of range is a RangeError naming it. */
export function resolveOptions(options: ChimeEmulatorOptions): ResolvedOptions {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`port must be an integer between 0 and 65535, got ${String(port)}`);
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    quotaScale: positiveOrThrow('quotaScale', options.quotaScale ?? 1, false),
    quotasEnabled: options.quotas ?? true,
    expiryDelaySeconds: positiveOrThrow('expiryDelaySeconds', options.expiryDelaySeconds ?? 21_600, true),
    sweepIntervalMs: positiveOrThrow('sweepIntervalMs', options.sweepIntervalMs ?? 1000, false),
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? DEFAULT_ACCOUNT,
    accountOfAccessKey: options.accountOfAccessKey,
    callLogSize: positiveOrThrow('callLogSize', options.callLogSize ?? 10_000, true),
    requireAuth: options.requireAuth ?? true,
    maxBodyBytes: options.maxBodyBytes ?? MiB,
    maxSeedBodyBytes: options.maxSeedBodyBytes ?? 128 * MiB,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    stateFile: options.stateFile,
    saveIntervalMs: positiveOrThrow('saveIntervalMs', options.saveIntervalMs ?? 1000, false),
    cloudTrailEvents: options.cloudTrailEvents,
  };
}
