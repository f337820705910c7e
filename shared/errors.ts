/**
 * The one error hierarchy of the project. Every error we raise on purpose is a LifecycleError: it carries
 * its `cause` and says whether repeating the same work later may succeed (`retryable`) or never will
 * (`terminal`). Queue drivers, use cases and the CLI ask that question through `isRetryable` and nothing
 * else, so a rule like "a Chime 400 is never retried" is written once.
 */
export class LifecycleError extends Error {
  override name = 'LifecycleError';
  readonly retryable: boolean;

  constructor(message: string, options: { readonly retryable: boolean; readonly cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable;
  }

  get terminal(): boolean {
    return !this.retryable;
  }
}

/** Work that can never succeed as asked: it is not retried; a queue driver dead-letters it at once. */
export class TerminalError<Reason extends string = string> extends LifecycleError {
  override name = 'TerminalError';
  constructor(
    /** A short machine-readable code, e.g. `tenant-not-found`; the DLQ reason attribute. */
    readonly reason: Reason,
    /** Field paths, rules and error names only: never a user's name or metadata. */
    readonly detail: string,
    options: { readonly cause?: unknown } = {},
  ) {
    super(`${reason}: ${detail}`, { retryable: false, ...options });
  }
}

/** Work that failed for now and is worth repeating later (throttling, a 5xx, a race we lost). */
export class RetryableError extends LifecycleError {
  override name = 'RetryableError';
  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super(message, { retryable: true, ...options });
  }
}

/** How a failed Chime call is classified (shared/chime/errors.ts decides it from the SDK's exception). */
export type ChimeFailureKind =
  | 'throttled'
  | 'retryable'
  | 'conflict'
  | 'not-found'
  | 'bad-request'
  | 'forbidden'
  | 'unauthorized'
  | 'resource-limit'
  | 'unknown';

/**
 * Only answers that repeat the same way on every attempt are terminal: the request is malformed for Chime
 * (400), we may not do it (403), or the AppInstance is full. Everything else (throttles, 5xx, 401, 404, 409,
 * unrecognised) is retried: retrying wrongly only costs receives, and the queue's redrive policy still ends
 * it in the DLQ; failing wrongly would make a transient fault look like a bad request.
 */
const TERMINAL_CHIME_KINDS: ReadonlySet<ChimeFailureKind> = new Set([
  'bad-request',
  'forbidden',
  'resource-limit',
]);

/**
 * A failed Chime call, as the use cases see it: the operation, the kind and the HTTP status. Chime's own
 * message is deliberately dropped (a validation message may quote the Name or Metadata it refused), and so
 * is the SDK exception as `cause`, so that no log line or DLQ attribute can reach that message.
 */
export class ChimeCallError extends LifecycleError {
  override name = 'ChimeCallError';
  constructor(
    readonly operation: string,
    readonly kind: ChimeFailureKind,
    /** The exception's name, e.g. `BadRequestException`. */
    readonly exceptionName: string,
    readonly httpStatus: number | undefined,
  ) {
    super(`${operation}: ${exceptionName}${httpStatus === undefined ? '' : ` (HTTP ${httpStatus})`}`, {
      retryable: !TERMINAL_CHIME_KINDS.has(kind),
    });
  }
}

/**
 * The one retry classification: our own errors say it themselves; anything else (a DynamoDB or network
 * error, an SDK error of a service other than Chime, a bug) is retried, and the queue's receive limit bounds
 * how often.
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof LifecycleError ? error.retryable : true;
}

const MAX_TEXT = 300;

/**
 * The one way to turn an error into text for logs, run records, events and DLQ attributes. Never quotes a
 * Chime message: a ChimeCallError carries none, and any other AWS SDK service exception (recognised by its
 * `$metadata`) is reduced to its name and HTTP status, because a service's validation message may echo the
 * values it refused. Our own errors keep their messages (we write them without personal data), and causes
 * are followed.
 */
export function safeErrorText(error: unknown): string {
  if (error instanceof ChimeCallError) return error.message;
  if (error instanceof Error) {
    const metadata = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
    if (metadata !== undefined && !(error instanceof LifecycleError)) {
      const status = typeof metadata.httpStatusCode === 'number' ? ` (HTTP ${metadata.httpStatusCode})` : '';
      return `${error.name}${status}`;
    }
    const cause = error.cause === undefined ? '' : ` (cause: ${safeErrorText(error.cause)})`;
    return `${error.name}: ${error.message.slice(0, MAX_TEXT)}${cause}`;
  }
  return `non-error thrown (${typeof error})`;
}
