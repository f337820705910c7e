/**
 * The emulator as a process part: builds the service, the API front (api.ts), the admin API
 * (admin-http.ts), the state file's autosave and the expiry sweeper, serves them over HTTP (http.ts), and
 * hands back the handle tests and the local stack drive it with.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AdminContext,
  type EmulatorStats,
  type FaultSettings,
  moveClock,
  NO_FAULTS,
  parseFaults,
  type SeedRequest,
  type SeedResult,
  seed,
} from './admin';
import { handleAdminRequest } from './admin-http';
import { ApiFront } from './api';
import { parseArn } from './arn';
import { StateAutosave } from './autosave';
import { CallLog, type CallRecord } from './caller';
import { EmulatorClock } from './clock';
import { cloudTrailEntry, putEventsSink } from './cloudtrail';
import { createEmulatorServer, listen, sendFailure } from './http';
import { serviceModel } from './model';
import { type ChimeEmulatorOptions, type ResolvedOptions, resolveOptions } from './options';
import { QuotaManager } from './quotas';
import { ChimeIdentityService } from './service';
import { ValidatorSet } from './validation';

export type { ChimeEmulatorOptions } from './options';

export interface ChimeEmulator {
  /** Base URL, e.g. `http://127.0.0.1:45678`; use it as the SDK `endpoint`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** Stops the sweeper and the server, dropping keep-alive connections. */
  close(): Promise<void>;
  /** Same as `POST /_emulator/reset`. */
  reset(): void;
  /** The recent API calls, oldest first, each with the access key it was signed with (`GET /_emulator/calls`). */
  calls(): CallRecord[];
  /** Emulator time (the controllable clock). */
  now(): Date;
  /** Moves the clock forward and runs the expiry sweep synchronously; returns the new time. */
  advanceClock(seconds: number): Date;
  /** Sets the clock to an absolute instant and runs the sweep; returns the new time. */
  setClock(instant: Date): Date;
  /** Runs the expiry sweep now; returns how many users were deleted. */
  sweep(): number;
  stats(): EmulatorStats;
  /** Replaces the fault settings (members not given are 0), validated like `POST /_emulator/faults`. */
  setFaults(faults: Partial<FaultSettings>): FaultSettings;
  seed(request: SeedRequest): SeedResult;
  /** How many users an AppInstance holds now, or undefined when it does not exist. */
  userCount(appInstanceArn: string): number | undefined;
  /** Whether the state came from `stateFile` at start. */
  readonly restored: boolean;
  /** Saves the state to `stateFile` now (a no-op without one). */
  save(): void;
}

/** Where CloudTrail events of user deletions go, if anywhere. */
function cloudTrailSink(options: ResolvedOptions) {
  const target = options.cloudTrailEvents;
  if (target === undefined) return undefined;
  return typeof target === 'string' ? putEventsSink(target) : { send: target, flush: async () => {} };
}

/** Everything behind the HTTP server. */
interface EmulatorParts {
  readonly options: ResolvedOptions;
  readonly clock: EmulatorClock;
  readonly service: ChimeIdentityService;
  readonly admin: AdminContext;
  readonly autosave: StateAutosave;
  readonly sink: ReturnType<typeof cloudTrailSink>;
  readonly handle: (request: IncomingMessage, response: ServerResponse) => void;
}

function buildParts(options: ResolvedOptions): EmulatorParts {
  const { region, accountId } = options;
  const model = serviceModel();
  const validators = new ValidatorSet(model);
  const clock = new EmulatorClock();
  const sink = cloudTrailSink(options);
  const service = new ChimeIdentityService({
    region,
    accountId,
    expiryDelaySeconds: options.expiryDelaySeconds,
    limits: options.limits,
    clock,
    ...(sink
      ? {
          // CloudTrail logs a deletion in the Region and account of the user's AppInstance.
          onUserRemoved: (userArn: string, reason: 'expired' | 'deleted', atMs: number) => {
            const arn = parseArn(userArn);
            const where = arn ? { region: arn.region, accountId: arn.account } : { region, accountId };
            sink.send(cloudTrailEntry(userArn, reason, atMs, where));
          },
        }
      : {}),
  });
  const quotas = new QuotaManager(options.quotaScale);
  const stats: EmulatorStats = { calls: {}, throttled: {}, faults: 0 };
  const callLog = new CallLog(options.callLogSize);
  const autosave = new StateAutosave(options.stateFile, service, clock, { region, accountId });
  const admin: AdminContext = {
    service,
    validators,
    clock,
    stats,
    callLog,
    faults: { ...NO_FAULTS },
    resetAll() {
      callLog.clear();
      service.reset();
      quotas.reset();
      clock.reset();
      stats.calls = {};
      stats.throttled = {};
      stats.faults = 0;
      admin.faults = { ...NO_FAULTS };
    },
  };
  const changed = () => autosave.changed();
  const api = new ApiFront(model, validators, {
    service,
    quotas,
    quotasEnabled: options.quotasEnabled,
    requireAuth: options.requireAuth,
    maxBodyBytes: options.maxBodyBytes,
    stats,
    defaults: { region, account: accountId },
    accountOf: options.accountOfAccessKey,
    callLog,
    faults: () => admin.faults,
    changed,
  });
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const url = request.url ?? '/';
    const method = request.method ?? 'GET';
    const queryStart = url.indexOf('?');
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    const onError = (error: unknown) => sendFailure(response, error);
    if (path.startsWith('/_emulator/')) {
      handleAdminRequest(admin, options, changed, request, response, method, path).catch(onError);
      return;
    }
    api.handle(request, response, method, path, queryStart < 0 ? '' : url.slice(queryStart + 1), onError);
  };
  return { options, clock, service, admin, autosave, sink, handle };
}

export async function startChimeEmulator(options: ChimeEmulatorOptions = {}): Promise<ChimeEmulator> {
  const resolved = resolveOptions(options);
  const parts = buildParts(resolved);
  const server = createEmulatorServer(parts.handle);
  const address = await listen(server, resolved.port, resolved.host);
  const sweeper = setInterval(() => {
    if (parts.service.sweepExpired() > 0) parts.autosave.changed();
  }, resolved.sweepIntervalMs);
  sweeper.unref();
  parts.autosave.start(resolved.saveIntervalMs);
  return emulatorHandle(parts, server, address, sweeper);
}

function emulatorHandle(
  parts: EmulatorParts,
  server: Server,
  address: AddressInfo,
  sweeper: NodeJS.Timeout,
): ChimeEmulator {
  const { admin, autosave, clock, service } = parts;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    region: parts.options.region,
    accountId: parts.options.accountId,
    close: () =>
      new Promise<void>((resolve, reject) => {
        clearInterval(sweeper);
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
        autosave.stop();
        void parts.sink?.flush();
      }),
    reset: () => {
      autosave.changed();
      admin.resetAll();
    },
    calls: () => admin.callLog.list(),
    now: () => new Date(clock.now()),
    advanceClock: (seconds) => {
      autosave.changed();
      return new Date(moveClock(admin, { advanceSeconds: seconds }).epochSeconds * 1000);
    },
    setClock: (instant) => {
      autosave.changed();
      return new Date(moveClock(admin, { now: instant.toISOString() }).epochSeconds * 1000);
    },
    sweep: () => service.sweepExpired(),
    stats: () => structuredClone(admin.stats),
    setFaults: (faults) => {
      admin.faults = parseFaults(faults);
      return { ...admin.faults };
    },
    seed: (request) => {
      autosave.changed();
      return seed(admin, request);
    },
    userCount: (appInstanceArn) => service.userCount(appInstanceArn),
    restored: autosave.restored,
    save: () => autosave.save(),
  };
}
