/**
 * Who sent a request and where to: the access key id and the Region of its SigV4 credential scope
 * (`Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...`), and the
 * account the key belongs to. The emulator serves every Region at one URL: a request signed for eu-central-1
 * sees eu-central-1's AppInstances, as a client of that Region's endpoint would. The signature itself is not
 * checked (any secret works), as documented in docs/emulator.md.
 */

/** The account and Region a request acts in. */
export interface Scope {
  readonly region: string;
  readonly account: string;
}

export interface Caller extends Scope {
  /** The access key id of the signature; undefined for an unsigned request (requireAuth off). */
  readonly accessKeyId: string | undefined;
}

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/;

/**
 * Reads the caller of a request. Its account is what `accountOf` says of the key (the local STS's role
 * credentials, say), the default account otherwise; an unsigned or unreadable header acts in the defaults.
 */
export function callerOf(
  authorization: string | undefined,
  defaults: Scope,
  accountOf?: (accessKeyId: string) => string | undefined,
): Caller {
  const match = authorization === undefined ? null : CREDENTIAL.exec(authorization);
  if (!match?.[1] || !match[2]) return { ...defaults, accessKeyId: undefined };
  const accessKeyId = match[1];
  return { accessKeyId, region: match[2], account: accountOf?.(accessKeyId) ?? defaults.account };
}

/** One API call as the call log keeps it (`GET /_emulator/calls`): no request members but the ARN. */
export interface CallRecord {
  /** Wall-clock ISO time the call arrived. */
  readonly at: string;
  readonly operation: string;
  readonly accessKeyId: string | null;
  readonly region: string;
  readonly account: string;
  /** The AppInstance the call is about, when it names one. */
  appInstanceArn: string | null;
  /** HTTP status of the answer (429 for a throttle, injected faults included). */
  status: number;
}

/** The last `capacity` API calls, oldest first; 0 keeps none. */
export class CallLog {
  private readonly records: CallRecord[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  add(record: CallRecord): void {
    if (this.capacity <= 0) return;
    if (this.records.length < this.capacity) this.records.push(record);
    else this.records[this.next] = record;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  list(): CallRecord[] {
    if (this.records.length < this.capacity) return [...this.records];
    return [...this.records.slice(this.next), ...this.records.slice(0, this.next)];
  }

  clear(): void {
    this.records.length = 0;
    this.next = 0;
  }
}
