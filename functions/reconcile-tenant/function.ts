import { ENV } from '../../shared/config';
import { defineFunction, param } from '../declaration';

export default defineFunction({
  name: 'reconcile-tenant',
  description: "Reconciles one tenant's AppInstanceUsers page by page, continuing through the queue",
  // The Lambda maximum. The sync checkpoints (syncSafetyMarginSeconds before the end) and continues in a
  // new message; the queue's VisibilityTimeout (960 s, infra/queues.json) exceeds this so a message is
  // never delivered twice while its first invocation still runs.
  timeoutSeconds: 900,
  environment: { [ENV.quotaFallbackShare]: param('reconcileQuotaShare') },
  trigger: {
    type: 'sqs',
    queue: 'ReconcileQueue',
    // One tenant per invocation: a tenant's run owns the whole invocation's time budget.
    batchSize: 1,
    // A failed record stays on the queue (and reaches the DLQ after maxReceiveCount) while the others of
    // the batch are deleted; the handler returns batchItemFailures.
    reportBatchItemFailures: true,
    // Caps concurrent reconciles (and, with the fallback quota share, bounds the account's Chime rate while
    // the quota leases cannot be read).
    maximumConcurrency: param('reconcileConcurrency'),
  },
  iam: [
    // PolicyStore.get: the tenant's current policy (at the start and before a follow-up run).
    { sid: 'ReadPolicy', actions: ['dynamodb:GetItem'], resource: { table: 'PolicyTable' } },
    // RunStore (lease, run record, pending shortenings) and Ledger (BatchGet/BatchWrite per page, Query for
    // users not seen by the run, Update to mark them gone).
    {
      sid: 'ReadWriteState',
      actions: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
      ],
      resource: { table: 'StateTable' },
    },
    // The event source mapping polls with the function's role (Receive/Delete/GetQueueAttributes); the
    // handler sends continuations and follow-up runs to the same queue.
    {
      sid: 'ConsumeAndContinue',
      actions: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ],
      resource: { queue: 'ReconcileQueue' },
    },
    // Runtime.deadLetter: a message that can never succeed is copied to the DLQ with its reason.
    {
      sid: 'DeadLetterInvalidMessages',
      actions: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
      resource: { queue: 'ReconcileDeadLetterQueue' },
    },
    { sid: 'PublishLifecycleEvents', actions: ['events:PutEvents'], resource: { eventBus: 'EventBus' } },
    // ChimeUsers: describe a user, set or remove its expiration (resource type app-instance-user).
    {
      sid: 'ReconcileChimeUsers',
      actions: ['chime:DescribeAppInstanceUser', 'chime:PutAppInstanceUserExpirationSettings'],
      resource: { chime: 'appInstanceUsers' },
    },
    // ListAppInstanceUsers names the AppInstance in its request while the Service Authorization Reference
    // gives it the app-instance-user resource type; app-instance/* covers both.
    { sid: 'ListChimeUsers', actions: ['chime:ListAppInstanceUsers'], resource: { chime: 'appInstances' } },
    // Admins are protected (policy protectAdmins): each run lists the AppInstance's admins.
    // ListAppInstanceAdmins takes the app-instance resource type: the tenant's AppInstance.
    { sid: 'ListChimeAdmins', actions: ['chime:ListAppInstanceAdmins'], resource: { chime: 'appInstances' } },
    // A tenant in another account: its Chime calls go through its own role there (policy `access`), assumed
    // with STS, only for the roles the stack parameter TenantAccessRoleArns lists (none: no statement).
    {
      sid: 'AssumeTenantAccessRoles',
      actions: ['sts:AssumeRole'],
      resource: { roles: 'TenantAccessRoleArns' },
    },
  ],
});
