/**
 * Public on-demand list prices, us-east-1, without the free tier, as AWS published them on its pricing pages
 * (aws.amazon.com/dynamodb/pricing/on-demand, /lambda/pricing, /sqs/pricing, /eventbridge/pricing). Written
 * down from those pages as of 2025-06 (DynamoDB's on-demand prices after the 50% cut of 2024-11-01); this
 * bench runs without network access, so they are not fetched: check them before quoting a figure.
 */
export const PRICES_AS_OF = '2025-06 (us-east-1, on-demand, no free tier)';

export const PRICE_SOURCES =
  'aws.amazon.com/dynamodb/pricing/on-demand, aws.amazon.com/lambda/pricing, aws.amazon.com/sqs/pricing, aws.amazon.com/eventbridge/pricing';

export const PRICES = {
  dynamodb: {
    /** Per read request unit (a strongly consistent read of up to 4 KB; eventually consistent: half). */
    readRequestUnit: 0.125 / 1e6,
    /** Per write request unit (a write of up to 1 KB). */
    writeRequestUnit: 0.625 / 1e6,
    /** Per GB-month of table storage (point-in-time recovery adds $0.20). */
    storageGbMonth: 0.25,
  },
  lambda: {
    /** Per GB-second on arm64 (serverless.ts deploys arm64), first 7.5 billion GB-seconds a month. */
    gbSecondArm64: 0.0000133334,
    /** Per request (invocation). */
    request: 0.2 / 1e6,
  },
  sqs: {
    /** Per request to a standard queue (each 64 KB chunk of a request is one). */
    request: 0.4 / 1e6,
  },
  eventBridge: {
    /** Per custom event published (PutEvents entry, per 64 KB chunk); rules on the default bus's AWS events are free. */
    event: 1.0 / 1e6,
  },
} as const;
