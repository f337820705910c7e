import { defineFunction } from '../declaration';

export default defineFunction({
  name: 'record-activity',
  description:
    "Moves users' last activity forward (renewal of inactiveDays rules), one write per user per batch",
  // One conditional UpdateItem per user of a batch of at most 100: well under a second.
  timeoutSeconds: 30,
  trigger: {
    type: 'sqs',
    queue: 'ActivityQueue',
    batchSize: 100,
    // Gathers a user's bursts of activity into one batch, where they cost one write.
    maximumBatchingWindowSeconds: 5,
    reportBatchItemFailures: true,
    maximumConcurrency: 2,
  },
  iam: [
    // ActivityStore.record: one conditional UpdateItem per user and batch.
    { sid: 'RecordActivity', actions: ['dynamodb:UpdateItem'], resource: { table: 'StateTable' } },
    {
      sid: 'ConsumeActivity',
      actions: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ],
      resource: { queue: 'ActivityQueue' },
    },
    // An invalid event goes to the DLQ at once, with its reason.
    {
      sid: 'DeadLetterInvalidEvents',
      actions: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
      resource: { queue: 'ActivityDeadLetterQueue' },
    },
  ],
});
