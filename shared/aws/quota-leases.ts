import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { QuotaLease, QuotaLeaseStore } from '../chime/quota-coordinator';

/**
 * The Chime quota leases of every process, as top-level attributes of ONE item of the state table
 * (`h_<holderId>` = { b: bucket keys, x: expiry in wall-clock ms }).
 *
 * Why one item: a renewal is then a single UpdateItem that writes our lease and returns everybody's
 * (ReturnValues ALL_NEW), so each live process costs one write request per heartbeat and no reads. One
 * item per holder would need a Query on top of every Put: twice the requests. The item stays small (a few
 * hundred bytes per holder: at most 7 Lambdas and a CLI), far below both the 400 KB item limit and the
 * 1,000 writes/s a partition takes (one write per holder every 2 s).
 *
 * `requests` counts every renewal and release in the same write (ADD), so what coordination costs can be
 * read back afterwards (the deployed benchmark does). `expiresAt` lets the table's TTL remove the item a
 * day after the last renewal; liveness itself is decided by each lease's `x`, at read time.
 */
export const QUOTA_LEASES_KEY = { pk: 'QUOTA#LEASES', sk: 'HOLDERS' } as const;
const HOLDER_PREFIX = 'h_';
const ITEM_TTL_SECONDS = 86_400;

function holderAttribute(holderId: string): string {
  if (!/^[A-Za-z0-9-]{1,100}$/.test(holderId)) {
    throw new RangeError(`quota lease holder id must be 1-100 letters, digits or dashes, got "${holderId}"`);
  }
  return `${HOLDER_PREFIX}${holderId}`;
}

/** The leases in a stored item; malformed entries (another version's) are skipped, not trusted. */
export function leasesOf(item: Record<string, unknown> | undefined): QuotaLease[] {
  const leases: QuotaLease[] = [];
  for (const [name, value] of Object.entries(item ?? {})) {
    if (!name.startsWith(HOLDER_PREFIX) || typeof value !== 'object' || value === null) continue;
    const { b, x } = value as { b?: unknown; x?: unknown };
    if (!Array.isArray(b) || typeof x !== 'number') continue;
    leases.push({
      holderId: name.slice(HOLDER_PREFIX.length),
      buckets: b.filter((bucket): bucket is string => typeof bucket === 'string'),
      expiresAtMs: x,
    });
  }
  return leases;
}

export class QuotaLeases implements QuotaLeaseStore {
  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async renew(lease: QuotaLease, forget: readonly string[]): Promise<readonly QuotaLease[]> {
    const names: Record<string, string> = { '#me': holderAttribute(lease.holderId) };
    const removals = forget
      .filter((holderId) => holderId !== lease.holderId)
      .map((holderId, index) => {
        names[`#f${index}`] = holderAttribute(holderId);
        return `#f${index}`;
      });
    const { Attributes } = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: QUOTA_LEASES_KEY,
        UpdateExpression: `SET #me = :lease, expiresAt = :ttl ADD requests :one${
          removals.length > 0 ? ` REMOVE ${removals.join(', ')}` : ''
        }`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: {
          ':lease': { b: [...lease.buckets], x: lease.expiresAtMs },
          ':ttl': Math.ceil(lease.expiresAtMs / 1000) + ITEM_TTL_SECONDS,
          ':one': 1,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return leasesOf(Attributes);
  }

  async release(holderId: string): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: QUOTA_LEASES_KEY,
        UpdateExpression: 'REMOVE #me ADD requests :one',
        ExpressionAttributeNames: { '#me': holderAttribute(holderId) },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  /** Every lease stored now and the requests counted so far (benchmarks, diagnostics). */
  async read(): Promise<{ leases: QuotaLease[]; requests: number }> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: QUOTA_LEASES_KEY, ConsistentRead: true }),
    );
    return { leases: leasesOf(Item), requests: typeof Item?.requests === 'number' ? Item.requests : 0 };
  }
}
