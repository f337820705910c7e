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
    // The event's tenant must exist and renew by activity (shared/activity/admission.ts).
    { sid: 'ReadPolicy', actions: ['dynamodb:GetItem'], resource: { table: 'PolicyTable' } },
    // ActivityStore.record: one conditional UpdateItem per user and batch; the tenant's ledger (one
    // BatchGetItem per tenant and batch) must know the user.
    {
      sid: 'RecordActivity',
      actions: ['dynamodb:UpdateItem', 'dynamodb:BatchGetItem'],
      resource: { table: 'StateTable' },
    },
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
