/**
 * The HTTP front: routes rest-json requests to operations, binds path/query/body members, validates them
 * against the model, applies auth, quotas and injected faults, and writes responses and errors in the shape
 * the AWS SDK parses.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  type AdminContext,
  type EmulatorStats,
  type FaultSettings,
  handleAdmin,
  moveClock,
  NO_FAULTS,
  parseFaults,
  type SeedRequest,
  type SeedResult,
  seed,
} from './admin';
import { EmulatorClock } from './clock';
import { type CloudTrailSinkOption, cloudTrailEntry, putEventsSink } from './cloudtrail';
import { ApiError, badRequest } from './errors';
import { serviceModel } from './model';
import type { ModelOperation } from './model/types';
import { loadState, saveState, stateOf } from './persistence';
import { QuotaManager } from './quotas';
import { Router } from './router';
import { ChimeIdentityService, DEFAULT_LIMITS, type OperationInput, type ResourceLimits } from './service';
import { type Validator, ValidatorSet } from './validation';

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
  readonly region?: string;
  readonly accountId?: string;
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

interface MemberBinding {
  readonly name: string;
  readonly location: 'uri' | 'querystring' | 'body';
  readonly locationName: string;
  readonly integer: boolean;
}

interface PreparedOperation {
  readonly name: string;
  readonly definition: ModelOperation;
  readonly bindings: readonly MemberBinding[];
  readonly validate: Validator | undefined;
  readonly hasBody: boolean;
}

const MiB = 1024 * 1024;
const EMPTY_QUERY = new URLSearchParams();
const EMPTY_BODY: Readonly<Record<string, unknown>> = Object.freeze({});
const DEFAULT_ACCOUNT = '111122223333';

function positiveOrThrow(name: string, value: number, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(value)}`,
    );
  }
  return value;
}

class BodyTooLarge extends Error {}

/** Reads the request body up to `limit` bytes; beyond it keeps draining (so the client is not reset) and throws. */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) return;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (tooLarge) reject(new BodyTooLarge(`request body is larger than ${limit} bytes`));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    request.on('error', reject);
  });
}

function requestHasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return request.headers['transfer-encoding'] !== undefined;
}

/**
 * Bodies are read as JSON whatever their Content-Type says (see docs/emulator.md): the SDK always sends
 * `application/json`, while `curl -d` sends a form type and `fetch` with a string body `text/plain`, and
 * refusing those would only get in the way of hand-written calls. A body that is not JSON gets a 400 anyway.
 */
function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw badRequest(`body: malformed JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  response.end(text);
}

/** A complete HTTP/1.1 error response for a socket Node's parser gave up on, in the modelled error shape. */
function rawError(status: number, reason: string, error: ApiError): string {
  const body = JSON.stringify({ Code: error.code, Message: error.message });
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `x-amzn-errortype: ${error.exception}\r\n` +
    `x-amzn-requestid: ${randomUUID()}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(
    response,
    error.status,
    { Code: error.code, Message: error.message },
    { 'x-amzn-errortype': error.exception },
  );
}

/**
 * A full garbage collection, if V8 lets us have one. A 100k-user seed leaves ~70 MB of parsed-request and
 * response garbage that V8 otherwise keeps (and keeps resident) for a long time while the emulator idles;
 * collecting once after a big seed keeps RSS close to the live data. Obtained lazily, on the first large
 * seed, so merely importing the emulator changes no V8 flag.
 */
let memoryReducingGc: (() => void) | null | undefined;
function collectGarbage(): void {
  if (memoryReducingGc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as unknown;
      // 'last-resort' is V8's memory-reducing full GC: it also shrinks the young generation and compacts.
      memoryReducingGc =
        typeof gc === 'function'
          ? () =>
              (gc as (options: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' })
          : null;
    } catch {
      memoryReducingGc = null;
    }
  }
  memoryReducingGc?.();
}
const LARGE_SEED_BYTES = 1024 * 1024;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startChimeEmulator(options: ChimeEmulatorOptions = {}): Promise<ChimeEmulator> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`port must be an integer between 0 and 65535, got ${String(port)}`);
  }
  const quotaScale = positiveOrThrow('quotaScale', options.quotaScale ?? 1, false);
  const quotasEnabled = options.quotas ?? true;
  const expiryDelaySeconds = positiveOrThrow(
    'expiryDelaySeconds',
    options.expiryDelaySeconds ?? 21_600,
    true,
  );
  const sweepIntervalMs = positiveOrThrow('sweepIntervalMs', options.sweepIntervalMs ?? 1000, false);
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? DEFAULT_ACCOUNT;
  const requireAuth = options.requireAuth ?? true;
  const maxBodyBytes = options.maxBodyBytes ?? MiB;
  const maxSeedBodyBytes = options.maxSeedBodyBytes ?? 128 * MiB;
  const limits: ResourceLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const saveIntervalMs = positiveOrThrow('saveIntervalMs', options.saveIntervalMs ?? 1000, false);

  const model = serviceModel();
  const router = new Router(model);
  const validators = new ValidatorSet(model);
  const clock = new EmulatorClock();
  const sink =
    options.cloudTrailEvents === undefined
      ? undefined
      : typeof options.cloudTrailEvents === 'string'
        ? putEventsSink(options.cloudTrailEvents)
        : { send: options.cloudTrailEvents, flush: async () => {} };
  const service = new ChimeIdentityService({
    region,
    accountId,
    expiryDelaySeconds,
    limits,
    clock,
    ...(sink
      ? {
          onUserRemoved: (userArn: string, reason: 'expired' | 'deleted', atMs: number) =>
            sink.send(cloudTrailEntry(userArn, reason, atMs, { region, accountId })),
        }
      : {}),
  });
  const quotas = new QuotaManager(quotaScale);
  const stats: EmulatorStats = { calls: {}, throttled: {}, faults: 0 };
  const stateFile = options.stateFile;
  const saved = stateFile ? loadState(stateFile) : undefined;
  if (saved) {
    service.restore(saved.service);
    clock.restoreOffset(saved.clockOffsetMs);
  }
  /** Set by anything that may have changed the state; the saver writes and clears it. */
  let dirty = false;
  const save = () => {
    if (!stateFile) return;
    dirty = false;
    saveState(stateFile, stateOf(service.snapshot(), clock.offset));
  };

  const admin: AdminContext = {
    service,
    validators,
    clock,
    stats,
    faults: { ...NO_FAULTS },
    resetAll() {
      service.reset();
      quotas.reset();
      clock.reset();
      stats.calls = {};
      stats.throttled = {};
      stats.faults = 0;
      admin.faults = { ...NO_FAULTS };
    },
  };

  const prepared = new Map<string, PreparedOperation>();
  for (const [name, definition] of Object.entries(model.operations)) {
    const inputShape = definition.input ? model.shapes[definition.input] : undefined;
    const bindings: MemberBinding[] = Object.entries(inputShape?.members ?? {}).map(
      ([memberName, member]) => ({
        name: memberName,
        location: member.location === 'uri' || member.location === 'querystring' ? member.location : 'body',
        locationName: member.locationName ?? memberName,
        integer: model.shapes[member.shape]?.type === 'integer',
      }),
    );
    prepared.set(name, {
      name,
      definition,
      bindings,
      validate: definition.input ? validators.forShape(definition.input) : undefined,
      hasBody: bindings.some((binding) => binding.location === 'body'),
    });
  }

  function bindInput(
    operation: PreparedOperation,
    labels: Record<string, string>,
    query: URLSearchParams,
    body: unknown,
  ): OperationInput {
    if (operation.hasBody && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw badRequest('body: must be a JSON object');
    }
    const input: OperationInput = {};
    for (const binding of operation.bindings) {
      let value: unknown;
      if (binding.location === 'uri') value = labels[binding.locationName];
      else if (binding.location === 'querystring') {
        const raw = query.get(binding.locationName);
        value = raw === null ? undefined : binding.integer && /^-?\d+$/.test(raw) ? Number(raw) : raw;
      } else value = (body as Record<string, unknown>)[binding.name];
      if (value !== undefined && value !== null) input[binding.name] = value;
    }
    return input;
  }

  function count(bucket: Record<string, number>, operation: string): void {
    bucket[operation] = (bucket[operation] ?? 0) + 1;
  }

  interface RoutedRequest {
    readonly operation: PreparedOperation;
    readonly labels: Record<string, string>;
    readonly query: URLSearchParams;
  }

  function route(method: string, path: string, queryString: string): RoutedRequest {
    const segments = path.split('/').slice(1);
    if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
    const query = queryString ? new URLSearchParams(queryString) : EMPTY_QUERY;
    let match: ReturnType<Router['match']>;
    try {
      match = router.match(method, segments, query);
    } catch {
      throw badRequest(`path: ${path} is not valid percent-encoding`);
    }
    if (!match) {
      throw new ApiError('NotFoundException', `no Chime SDK Identity operation matches ${method} ${path}`);
    }
    return { operation: prepared.get(match.operation) as PreparedOperation, labels: match.labels, query };
  }

  /**
   * Auth, validation and quotas, then the operation. Synchronous unless latency is injected, so a plain
   * Describe costs no promise hops; returns the pending work when there is some.
   */
  function execute(
    request: IncomingMessage,
    response: ServerResponse,
    routed: RoutedRequest,
    body: unknown,
  ): Promise<void> | undefined {
    const { operation } = routed;
    if (requireAuth && !request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
      throw new ApiError('UnauthorizedClientException', 'the request has no AWS SigV4 Authorization header');
    }
    const input = bindInput(operation, routed.labels, routed.query, body);
    const problem = operation.validate?.(input, '');
    if (problem) throw badRequest(problem);

    if (quotasEnabled) {
      const exhausted = quotas.admit(operation.name, service.appInstanceOf(input));
      if (exhausted) {
        count(stats.throttled, operation.name);
        throw new ApiError('ThrottledClientException', `rate exceeded for ${operation.name}: ${exhausted}`);
      }
    }
    const latencyMs = admin.faults.latencyMs;
    if (latencyMs > 0) return sleep(latencyMs).then(() => runOperation(response, operation, input));
    runOperation(response, operation, input);
    return undefined;
  }

  function runOperation(response: ServerResponse, operation: PreparedOperation, input: OperationInput): void {
    const faults = admin.faults;
    if (faults.throttleRate > 0 && Math.random() < faults.throttleRate) {
      stats.faults++;
      count(stats.throttled, operation.name);
      throw new ApiError('ThrottledClientException', `injected throttle for ${operation.name}`);
    }
    if (faults.serviceUnavailableRate > 0 && Math.random() < faults.serviceUnavailableRate) {
      stats.faults++;
      throw new ApiError('ServiceUnavailableException', `injected outage for ${operation.name}`);
    }
    if (faults.serviceFailureRate > 0 && Math.random() < faults.serviceFailureRate) {
      stats.faults++;
      throw new ApiError('ServiceFailureException', `injected failure for ${operation.name}`);
    }

    const handler = service.handlers[operation.name];
    // Unreachable while every model operation has a handler (the integration tests call all 30); guards a
    // regenerated model that adds an operation.
    if (!handler)
      throw new ApiError('ServiceFailureException', `the emulator has no handler for ${operation.name}`);
    const output = handler(input);
    const status = operation.definition.successCode;
    if (status === 204 || output === undefined) {
      response.writeHead(status, { 'x-amzn-requestid': randomUUID(), 'content-length': 0 });
      response.end();
    } else sendJson(response, status, output);
  }

  async function handleAdminRequest(
    request: IncomingMessage,
    response: ServerResponse,
    method: string,
    path: string,
  ): Promise<void> {
    const limit = path === '/_emulator/seed' ? maxSeedBodyBytes : maxBodyBytes;
    if (method !== 'GET') dirty = true;
    const raw = requestHasBody(request) ? await readBody(request, limit) : undefined;
    const result = handleAdmin(admin, method, path, raw ? parseJsonBody(raw) : {});
    sendJson(response, result.status, result.body);
    if (raw && raw.length >= LARGE_SEED_BYTES) {
      response.once('finish', () => setImmediate(collectGarbage));
    }
  }

  function fail(response: ServerResponse, error: unknown): void {
    if (response.headersSent) {
      response.destroy();
      return;
    }
    if (error instanceof ApiError) sendError(response, error);
    else if (error instanceof BodyTooLarge) sendError(response, badRequest(`body: ${error.message}`));
    else {
      const message = error instanceof Error ? error.message : String(error);
      sendError(response, new ApiError('ServiceFailureException', `internal emulator error: ${message}`));
    }
  }

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '/';
    const method = request.method ?? 'GET';
    const queryStart = url.indexOf('?');
    const path = queryStart < 0 ? url : url.slice(0, queryStart);
    const onError = (error: unknown) => fail(response, error);
    if (path.startsWith('/_emulator/')) {
      handleAdminRequest(request, response, method, path).catch(onError);
      return;
    }
    try {
      const routed = route(method, path, queryStart < 0 ? '' : url.slice(queryStart + 1));
      count(stats.calls, routed.operation.name);
      // Every operation that can change state is a POST, PUT or DELETE in the model.
      if (method !== 'GET') dirty = true;
      if (requestHasBody(request)) {
        readBody(request, maxBodyBytes)
          .then((raw) => execute(request, response, routed, parseJsonBody(raw)))
          .catch(onError);
      } else execute(request, response, routed, EMPTY_BODY)?.catch(onError);
    } catch (error) {
      onError(error);
    }
  }

  const server: Server = createServer(
    {
      // A client gets 10 s to send its headers and 60 s for the whole request (a 100k-user seed takes ~1 s),
      // and an idle keep-alive connection is closed after 30 s: slow or abandoned connections do not pile up.
      headersTimeout: 10_000,
      requestTimeout: 60_000,
      keepAliveTimeout: 30_000,
      // How often Node checks those timeouts (default 30 s, which would let a slow client overstay by that much).
      connectionsCheckingInterval: 1_000,
    },
    handle,
  );
  // Requests Node's parser refuses (an unknown method, a bad header, CL+TE, a header block over the limit,
  // garbage) never reach `handle`; answer them in the modelled error shape, then close the connection.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : [400, 'Bad Request'];
    const detail =
      status === 408
        ? 'the request was not received in time (headers within 10 s, the whole request within 60 s)'
        : status === 431
          ? 'the request headers are too large'
          : `malformed HTTP request (${error.code ?? 'parse error'})`;
    socket.end(rawError(status, reason, badRequest(detail)));
  });
  // CONNECT is not an operation: without this listener Node would close the socket without a word.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    const error = new ApiError(
      'NotFoundException',
      `no Chime SDK Identity operation matches CONNECT ${String(request.url).slice(0, 100)}`,
    );
    socket.end(rawError(404, 'Not Found', error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const sweeper = setInterval(() => {
    if (service.sweepExpired() > 0) dirty = true;
  }, sweepIntervalMs);
  sweeper.unref();
  const saver = stateFile
    ? setInterval(() => {
        if (dirty) save();
      }, saveIntervalMs)
    : undefined;
  saver?.unref();
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${urlHost}:${address.port}`,
    host: address.address,
    port: address.port,
    region,
    accountId,
    close: () =>
      new Promise<void>((resolve, reject) => {
        clearInterval(sweeper);
        if (saver) clearInterval(saver);
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
        save();
        void sink?.flush();
      }),
    reset: () => {
      dirty = true;
      admin.resetAll();
    },
    now: () => new Date(clock.now()),
    advanceClock: (seconds) => {
      dirty = true;
      return new Date(moveClock(admin, { advanceSeconds: seconds }).epochSeconds * 1000);
    },
    setClock: (instant) => {
      dirty = true;
      return new Date(moveClock(admin, { now: instant.toISOString() }).epochSeconds * 1000);
    },
    sweep: () => service.sweepExpired(),
    stats: () => structuredClone(stats),
    setFaults: (faults) => {
      admin.faults = parseFaults(faults);
      return { ...admin.faults };
    },
    seed: (request) => {
      dirty = true;
      return seed(admin, request);
    },
    userCount: (appInstanceArn) => service.userCount(appInstanceArn),
    restored: saved !== undefined,
    save,
  };
}
