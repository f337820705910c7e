/**
 * A process that works on Chime through the product's coordinated limiter until it is killed: it describes
 * the given users in a loop (Chime emulator) and holds a quota lease in the state table (DynamoDB Local).
 * Run by quota-coordination.test.ts with `npx tsx`; prints one JSON line per second with its share.
 *
 * Environment: DYNAMODB_URL, STATE_TABLE, QUOTA_SCALE, LEASE_MS, USER_ARNS (comma-separated); the Chime
 * endpoint comes from AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY as in production.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QuotaLeases } from '../../../shared/aws/quota-leases';
import { createChimeClient, createChimeQuota } from '../../../shared/chime/client';
import { accountBucketOf } from '../../../shared/chime/quotas';
import { ChimeUsers } from '../../../shared/chime/users';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const documents = DynamoDBDocumentClient.from(
  new DynamoDBClient({ region: 'us-east-1', endpoint: required('DYNAMODB_URL') }),
);
const quota = createChimeQuota({
  quotaScale: Number(required('QUOTA_SCALE')),
  accountQuotaShare: 1,
  fallbackShare: 0.1,
  leaseTtlMs: Number(required('LEASE_MS')),
  leases: new QuotaLeases(documents, required('STATE_TABLE')),
});
const users = new ChimeUsers(createChimeClient({ limiter: quota.callLimiter, region: 'us-east-1' }));
const arns = required('USER_ARNS').split(',');
/** The account bucket of the users' account and Region. */
const accountKey = accountBucketOf(`describe-user:${arns[0]}`);

setInterval(() => {
  const account = quota.limiter.configuredRates().get(accountKey);
  console.log(
    JSON.stringify({ holderId: quota.coordinator?.holderId, account, calls: quota.limiter.stats().acquired }),
  );
}, 500);

// Eight describes in flight at all times: the limiter, not the loop, sets the pace.
await Promise.all(
  Array.from({ length: 8 }, async (_, worker) => {
    for (let index = worker; ; index = (index + 8) % arns.length) {
      await users.describe(arns[index] as string);
    }
  }),
);
