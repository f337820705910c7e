import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local STS that answers `AssumeRole` (the Query protocol SDK v3's STS client speaks: a form-encoded POST,
 * an XML answer), so that tenants in "other accounts" work offline: the functions and the CLI assume a
 * tenant's role here (`AWS_ENDPOINT_URL_STS`) exactly as they would against AWS.
 *
 * The credentials it returns identify the role: the access key id is `ASIA` + the role's 12-digit account +
 * 8 hex digits of the role ARN's SHA-256 (`localAccessKeyId`), so the Chime emulator, told
 * `accountOfLocalAccessKey`, acts in the role's account for them, and its call log shows whose credentials
 * every call carried. Secrets and session tokens are random; nothing verifies signatures offline.
 *
 * Trust: with `roles`, only those role ARNs may be assumed, each with its external id (AccessDenied
 * otherwise, as a trust policy with an sts:ExternalId condition answers); without it any well-formed role
 * and external id are accepted.
 */

export interface LocalSts {
  readonly url: string;
  readonly port: number;
  /** AssumeRole requests answered with credentials, per role ARN. */
  assumed(): Record<string, number>;
  /** Makes `roleArn` assumable with exactly `externalId` (and, once any is registered, only those). */
  trust(roleArn: string, externalId: string): void;
  close(): Promise<void>;
}

export interface LocalStsOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** The roles that may be assumed, each with the external id its trust policy requires. */
  readonly roles?: Readonly<Record<string, string>>;
  /**
   * Lifetime of the credentials it hands out unless the request asks (default 3600 s, STS's default). Any
   * positive number here, so a test can hand out credentials that are due for refresh at once.
   */
  readonly durationSeconds?: number;
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::([0-9]{12}):role\/(?:[\x21-\x2E\x30-\x7E]+\/)*[\w+=,.@-]{1,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const LOCAL_KEY = /^ASIA([0-9]{12})[0-9A-F]{8}$/;
const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** The access key id the local STS gives a role's sessions. */
export function localAccessKeyId(roleArn: string): string {
  const account = ROLE_ARN.exec(roleArn)?.[1];
  if (!account) throw new RangeError(`not an IAM role ARN: ${roleArn}`);
  const digest = createHash('sha256').update(roleArn).digest('hex').slice(0, 8).toUpperCase();
  return `ASIA${account}${digest}`;
}

/** The account of a key the local STS handed out, or undefined for any other key. */
export function accountOfLocalAccessKey(accessKeyId: string): string | undefined {
  return LOCAL_KEY.exec(accessKeyId)?.[1];
}

class StsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) reject(new StsError(413, 'RequestEntityTooLarge', 'request body over 64 KiB'));
      else chunks.push(chunk);
    });
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://local');
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      for (const [key, value] of url.searchParams) if (!form.has(key)) form.set(key, value);
      resolve(form);
    });
    request.on('error', reject);
  });
}

function durationOf(form: URLSearchParams, fallback: number): number {
  const raw = form.get('DurationSeconds');
  if (raw === null) return fallback;
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds < 900 || seconds > 43_200) {
    throw new StsError(400, 'ValidationError', 'DurationSeconds must be an integer 900..43200');
  }
  return seconds;
}

export async function startLocalSts(options: LocalStsOptions = {}): Promise<LocalSts> {
  const trusted = new Map(Object.entries(options.roles ?? {}));
  const assumed = new Map<string, number>();
  const defaultDuration = options.durationSeconds ?? 3600;

  const assumeRole = (form: URLSearchParams): string => {
    const roleArn = form.get('RoleArn') ?? '';
    const externalId = form.get('ExternalId');
    const sessionName = form.get('RoleSessionName') ?? '';
    const account = ROLE_ARN.exec(roleArn)?.[1];
    if (!account) throw new StsError(400, 'ValidationError', 'RoleArn is not an IAM role ARN');
    if (!SESSION_NAME.test(sessionName)) {
      throw new StsError(400, 'ValidationError', 'RoleSessionName must be 2..64 of [\\w+=,.@-]');
    }
    if (externalId !== null && !EXTERNAL_ID.test(externalId)) {
      throw new StsError(400, 'ValidationError', 'ExternalId must be 2..1224 of [\\w+=,.@:/-]');
    }
    if (trusted.size > 0 && (!trusted.has(roleArn) || trusted.get(roleArn) !== externalId)) {
      throw new StsError(403, 'AccessDenied', `not authorized to perform sts:AssumeRole on ${roleArn}`);
    }
    const expiration = new Date(Date.now() + durationOf(form, defaultDuration) * 1000).toISOString();
    assumed.set(roleArn, (assumed.get(roleArn) ?? 0) + 1);
    const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
    return `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult><Credentials><AccessKeyId>${localAccessKeyId(roleArn)}</AccessKeyId><SecretAccessKey>${randomBytes(30).toString('base64')}</SecretAccessKey><SessionToken>${randomBytes(60).toString('base64')}</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROA${account}:${escapeXml(sessionName)}</AssumedRoleId><Arn>arn:aws:sts::${account}:assumed-role/${escapeXml(roleName)}/${escapeXml(sessionName)}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`;
  };

  const send = (response: ServerResponse, status: number, body: string) => {
    response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
    response.end(body);
  };

  const server = createServer((request, response) => {
    readForm(request)
      .then((form) => {
        const action = form.get('Action');
        if (action !== 'AssumeRole') {
          throw new StsError(400, 'InvalidAction', `the local STS answers AssumeRole only, not ${action}`);
        }
        send(response, 200, assumeRole(form));
      })
      .catch((error: unknown) => {
        const failure =
          error instanceof StsError ? error : new StsError(500, 'InternalFailure', String(error));
        const type = failure.status < 500 ? 'Sender' : 'Receiver';
        send(
          response,
          failure.status,
          `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${failure.code}</Code><Message>${escapeXml(failure.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
        );
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    assumed: () => Object.fromEntries(assumed),
    trust: (roleArn, externalId) => {
      trusted.set(roleArn, externalId);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
