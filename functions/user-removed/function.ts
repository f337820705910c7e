import { defineFunction } from '../declaration';

export default defineFunction({
  name: 'user-removed',
  description: 'Marks users Chime expired or deleted gone at once (CloudTrail through EventBridge)',
  timeoutSeconds: 30,
  // Chime's own deletions of AppInstanceUsers, as CloudTrail reports them on the default bus (the local
  // EventBridge routes the same pattern). Needs CloudTrail management events: see docs/deploy.md.
  trigger: {
    type: 'eventBridge',
    pattern: {
      source: ['aws.chime'],
      'detail-type': ['AWS Service Event via CloudTrail', 'AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['chime.amazonaws.com'],
        eventName: ['ExpireAppInstanceUser', 'DeleteAppInstanceUser'],
        errorCode: [{ exists: false }],
      },
    },
    // Nothing is dropped: a delivery EventBridge cannot make is retried for an hour, a failing invocation
    // (Chime or DynamoDB unreachable, a 403) twice by Lambda, and then the event waits in the DLQ (alarmed).
    // The ledger refresh of the next sync marks such a user gone anyway; the DLQ says why it was not at once.
    retryPolicy: { maximumEventAgeSeconds: 3_600, maximumRetryAttempts: 10 },
    functionErrorRetries: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3_600 },
    deadLetterQueue: 'UserRemovedDeadLetterQueue',
  },
  iam: [
    // PolicyStore.tenantOfAppInstance (the AppInstance's claim), Ledger.markRemoved, and the Chime quota
    // lease of the rate limiter its one Describe goes through.
    {
      sid: 'ReadClaimMarkLedger',
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resource: { table: 'StateTable' },
    },
    // The tenant's policy: how its AppInstance is reached (Region, and role in another account).
    { sid: 'ReadTenantPolicy', actions: ['dynamodb:GetItem'], resource: { table: 'PolicyTable' } },
    { sid: 'PublishLifecycleEvents', actions: ['events:PutEvents'], resource: { eventBus: 'EventBus' } },
    // Lambda writes the on-failure destination of an asynchronous invocation with the function's role.
    {
      sid: 'DeadLetterFailedEvents',
      actions: ['sqs:SendMessage'],
      resource: { queue: 'UserRemovedDeadLetterQueue' },
    },
    // The event is a claim: one Describe confirms the user is gone before anything is written. Its resource
    // type is the user (app-instance/*/user/*), never the AppInstance itself.
    {
      sid: 'ConfirmRemoval',
      actions: ['chime:DescribeAppInstanceUser'],
      resource: { chime: 'appInstanceUsers' },
    },
    // A tenant in another account: the Describe goes through its own role there (policy `access`), assumed
    // with STS, only for the roles the stack parameter TenantAccessRoleArns lists (none: no statement).
    {
      sid: 'AssumeTenantAccessRoles',
      actions: ['sts:AssumeRole'],
      resource: { roles: 'TenantAccessRoleArns' },
    },
  ],
});
