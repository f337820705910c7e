import type { ReceivedEvent } from './eventbridge-server';

/**
 * The `event  ...` lines `local start` prints for what reaches its EventBridge. Lifecycle events get a line
 * each. Chime's own deletions (CloudTrail events, source `aws.chime`) come in bursts naming no tenant (the
 * expiry sweep deletes every seeded user already past its expiry at once), so each burst is one line per
 * kind, counted per tenant: `event  AWS Service Event via CloudTrail ×32: Chime's expiry sweep deleted 32
 * users (acme 12, globex 6, initech 14)`.
 */

export interface EventLinesOptions {
  readonly print: (line: string) => void;
  /** The tenant whose policy manages an AppInstance, when one does (asked when a burst is printed). */
  readonly tenantOf: (appInstanceArn: string) => string | undefined;
  /** A burst ends once no CloudTrail event came for this long (default 1 s). */
  readonly quietMs?: number;
  /** ... or at the latest this long after its first event (default 5 s). */
  readonly maxWaitMs?: number;
}

const NO_TENANT = 'no tenant';

/** What a CloudTrail deletion event says: the operation, and the AppInstance of the deleted user. */
export function chimeDeletion(
  event: Pick<ReceivedEvent, 'source' | 'detail'>,
): { readonly eventName: string; readonly appInstanceArn: string | undefined } | undefined {
  if (event.source !== 'aws.chime') return undefined;
  const detail = (typeof event.detail === 'object' && event.detail !== null ? event.detail : {}) as {
    eventName?: unknown;
    resources?: { ARN?: unknown }[];
    requestParameters?: { appInstanceUserArn?: unknown };
  };
  const userArn = detail.resources?.[0]?.ARN ?? detail.requestParameters?.appInstanceUserArn;
  const slash = typeof userArn === 'string' ? userArn.indexOf('/user/') : -1;
  return {
    eventName: typeof detail.eventName === 'string' ? detail.eventName : 'unknown',
    appInstanceArn: slash > 0 ? (userArn as string).slice(0, slash) : undefined,
  };
}

/** A lifecycle event's one line: its type, and its tenant and state when it has them. */
export function eventLine(event: Pick<ReceivedEvent, 'detailType' | 'detail'>): string {
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  const tenant = typeof detail.tenantId === 'string' ? ` tenant=${detail.tenantId}` : '';
  const state = typeof detail.state === 'string' ? ` state=${detail.state}` : '';
  return `event  ${event.detailType}${tenant}${state}`;
}

const WHAT: Record<string, string> = {
  ExpireAppInstanceUser: "Chime's expiry sweep deleted",
  DeleteAppInstanceUser: 'DeleteAppInstanceUser deleted',
};

export class EventLines {
  readonly #options: EventLinesOptions;
  /** Printing starts with `start()` (after the banner); until then lines wait, in order. */
  #started = false;
  #stopped = false;
  readonly #waiting: string[] = [];
  #burst: { detailType: string; eventName: string; appInstanceArn: string | undefined }[] = [];
  #burstStartedAt = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: EventLinesOptions) {
    this.#options = options;
  }

  /** Takes every event the local EventBridge receives. */
  readonly onEvent = (event: ReceivedEvent): void => {
    if (this.#stopped) return;
    const deletion = chimeDeletion(event);
    if (!deletion) {
      this.#emit(eventLine(event));
      return;
    }
    if (this.#burst.length === 0) this.#burstStartedAt = Date.now();
    this.#burst.push({ detailType: event.detailType, ...deletion });
    if (this.#started) this.#schedule();
  };

  /** Prints what waited, and from now on every line as it comes (bursts once they end). */
  start(): void {
    this.#started = true;
    for (const line of this.#waiting.splice(0)) this.#options.print(line);
    if (this.#burst.length === 0) return;
    // A burst from before the banner is timed from the banner, so the sweep of start-up is one line.
    this.#burstStartedAt = Date.now();
    this.#schedule();
  }

  /** Prints nothing more (a stop prints its own lines); a burst still gathering is dropped. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#burst = [];
    this.#waiting.length = 0;
  }

  #emit(line: string): void {
    if (this.#started) this.#options.print(line);
    else this.#waiting.push(line);
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const quiet = this.#options.quietMs ?? 1_000;
    const latest = this.#burstStartedAt + (this.#options.maxWaitMs ?? 5_000) - Date.now();
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, Math.min(quiet, latest)));
    this.#timer.unref();
  }

  #flush(): void {
    const burst = this.#burst;
    this.#burst = [];
    const kinds = new Map<string, { detailType: string; eventName: string; tenants: Map<string, number> }>();
    for (const event of burst) {
      const key = `${event.detailType}\u0000${event.eventName}`;
      const kind = kinds.get(key) ?? { ...event, tenants: new Map<string, number>() };
      const tenant = (event.appInstanceArn && this.#options.tenantOf(event.appInstanceArn)) || NO_TENANT;
      kind.tenants.set(tenant, (kind.tenants.get(tenant) ?? 0) + 1);
      kinds.set(key, kind);
    }
    for (const kind of kinds.values()) {
      const total = [...kind.tenants.values()].reduce((sum, count) => sum + count, 0);
      const tenants = [...kind.tenants]
        .sort(([a], [b]) => (a === NO_TENANT ? 1 : b === NO_TENANT ? -1 : a.localeCompare(b)))
        .map(([tenant, count]) => `${tenant} ${count}`)
        .join(', ');
      const what = WHAT[kind.eventName] ?? `${kind.eventName} removed`;
      this.#options.print(
        `event  ${kind.detailType} ×${total}: ${what} ${total} user${total === 1 ? '' : 's'} (${tenants})`,
      );
    }
  }
}
