import { randomUUID } from 'node:crypto';

/**
 * What CloudTrail would record of the emulator's user deletions, delivered the way EventBridge delivers
 * CloudTrail events on the default bus (source `aws.chime`):
 * - the expiry sweeper: an `ExpireAppInstanceUser` AwsServiceEvent, invokedBy chime.amazonaws.com, the user in
 *   `resources` ("AWS Service Event via CloudTrail");
 * - DeleteAppInstanceUser: an AwsApiCall with the user's ARN in `requestParameters` ("AWS API Call via
 *   CloudTrail").
 * Nothing else: no names or metadata, as CloudTrail logs none for these events. The emulator only produces
 * these entries; where they go is up to whoever starts it (a URL that speaks PutEvents, or a function).
 */
export interface CloudTrailEntry {
  readonly Source: 'aws.chime';
  readonly DetailType: 'AWS Service Event via CloudTrail' | 'AWS API Call via CloudTrail';
  readonly Detail: string;
  readonly Resources: readonly string[];
  readonly Time: Date;
}

export type UserRemovalReason = 'expired' | 'deleted';

export function cloudTrailEntry(
  userArn: string,
  reason: UserRemovalReason,
  atMs: number,
  where: { readonly region: string; readonly accountId: string },
): CloudTrailEntry {
  const eventTime = new Date(Math.floor(atMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const common = {
    eventVersion: '1.09',
    eventTime,
    eventSource: 'chime.amazonaws.com',
    awsRegion: where.region,
    eventID: randomUUID(),
    readOnly: false,
    recipientAccountId: where.accountId,
    managementEvent: true,
    eventCategory: 'Management',
  };
  const detail =
    reason === 'expired'
      ? {
          ...common,
          userIdentity: { accountId: where.accountId, invokedBy: 'chime.amazonaws.com' },
          eventName: 'ExpireAppInstanceUser',
          eventType: 'AwsServiceEvent',
          resources: [{ accountId: where.accountId, type: 'AWS::Chime::AppInstanceUser', ARN: userArn }],
          serviceEventDetails: { reason: 'AppInstanceUser deleted due to expiration settings.' },
        }
      : {
          ...common,
          userIdentity: { type: 'IAMUser', accountId: where.accountId },
          eventName: 'DeleteAppInstanceUser',
          eventType: 'AwsApiCall',
          apiVersion: '2021-04-20',
          requestParameters: { appInstanceUserArn: userArn },
          responseElements: null,
          requestID: randomUUID(),
        };
  return {
    Source: 'aws.chime',
    DetailType: reason === 'expired' ? 'AWS Service Event via CloudTrail' : 'AWS API Call via CloudTrail',
    Detail: JSON.stringify(detail),
    Resources: reason === 'expired' ? [userArn] : [],
    Time: new Date(atMs),
  };
}

/** Where the emulator's CloudTrail-shaped events go: a PutEvents endpoint (the local EventBridge) or a function. */
export type CloudTrailSinkOption = string | ((entry: CloudTrailEntry) => void);

/** PutEvents takes at most 10 entries. */
const BATCH = 10;

/**
 * A sink that posts entries to a PutEvents endpoint (AWS JSON 1.1, the default bus), ten at a time, in the
 * background: a deletion never waits for it, and an unreachable endpoint only loses events (counted).
 */
export function putEventsSink(url: string): {
  readonly send: (entry: CloudTrailEntry) => void;
  readonly flush: () => Promise<void>;
  readonly failed: () => number;
} {
  let pending: CloudTrailEntry[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  let scheduled = false;
  let failures = 0;
  const post = async (entries: CloudTrailEntry[]) => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutEvents' },
        body: JSON.stringify({
          Entries: entries.map((entry) => ({
            Source: entry.Source,
            DetailType: entry.DetailType,
            Detail: entry.Detail,
            Resources: entry.Resources,
            Time: entry.Time.toISOString(),
            EventBusName: 'default',
          })),
        }),
      });
      const answer = (await response.json().catch(() => ({}))) as { FailedEntryCount?: number };
      if (!response.ok) failures += entries.length;
      else failures += answer.FailedEntryCount ?? 0;
    } catch {
      failures += entries.length;
    }
  };
  const drain = () => {
    scheduled = false;
    const batches: CloudTrailEntry[][] = [];
    for (let start = 0; start < pending.length; start += BATCH)
      batches.push(pending.slice(start, start + BATCH));
    pending = [];
    inFlight = inFlight.then(async () => {
      for (const batch of batches) await post(batch);
    });
  };
  return {
    send: (entry) => {
      pending.push(entry);
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    },
    flush: async () => {
      if (scheduled) drain();
      await inFlight;
    },
    failed: () => failures,
  };
}
