import { defineFunction } from '../declaration';

export default defineFunction({
  name: 'policy-changed',
  description: 'Reconciles a tenant at once when its policy changes',
  timeoutSeconds: 30,
  trigger: {
    type: 'dynamodbStream',
    table: 'PolicyTable',
    // Policy edits are rare and one message per tenant is all the handler sends; a batch of 100 collects a
    // bulk import into a few SendMessageBatch calls.
    batchSize: 100,
    batchWindowSeconds: 1,
    // Only changes made after deployment matter; the schedule covers everything else.
    startingPosition: 'LATEST',
    // A failing batch is split to isolate a bad record, retried a few times, then reported to the failure
    // queue (alarmed) instead of blocking the shard for up to 24 h. Nothing is lost: the next scheduled sync
    // reconciles the tenant anyway.
    bisectBatchOnFunctionError: true,
    maximumRetryAttempts: 5,
    maximumRecordAgeSeconds: 3600,
    onFailure: { queue: 'PolicyStreamFailureQueue' },
  },
  iam: [
    // The event source mapping reads the stream with the function's role (the permissions the Lambda
    // developer guide lists for DynamoDB streams).
    {
      sid: 'ReadPolicyStream',
      actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      resource: { stream: 'PolicyTable' },
    },
    // ListStreams has no resource type in the Service Authorization Reference: a grant on the stream ARN
    // would never match, only "*" does. It lists stream ARNs, nothing more.
    { sid: 'ListStreams', actions: ['dynamodb:ListStreams'], resource: '*' },
    {
      sid: 'QueueReconciles',
      actions: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
      resource: { queue: 'ReconcileQueue' },
    },
    // The mapping's on-failure destination is written with the function's role too.
    {
      sid: 'ReportStreamFailures',
      actions: ['sqs:SendMessage'],
      resource: { queue: 'PolicyStreamFailureQueue' },
    },
  ],
});
