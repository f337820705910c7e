import { ENV } from '../../shared/config';
import { defineFunction, param } from '../declaration';

export default defineFunction({
  name: 'onboard-users',
  description: 'Creates AppInstanceUsers from onboarding requests, idempotently',
  // A batch is one second of an AppInstance's create quota (onboardingBatchSize, infra/params.ts: 10 at 1×,
  // 200 at 20×, onboardingAtQuotaScale): one tenant's full batch takes 2 s through the 2 invocations sharing its quota, far inside
  // 120 s, which leaves room for throttles, SDK retries and a converging user. The queue driver keeps a fifth
  // of it as a deadline margin: what a batch cannot finish by then goes back at once (docs/onboarding.md,
  // "The deadline"). The onboarding queue's VisibilityTimeout (240 s) is twice this, not the 6× AWS
  // suggests: failed messages get their retry delay from the handler (ChangeMessageVisibility with
  // backoff), so the queue default only matters after a crash, where a longer wait helps nobody.
  timeoutSeconds: 120,
  environment: { [ENV.quotaFallbackShare]: param('onboardingQuotaShare') },
  trigger: {
    type: 'sqs',
    queue: 'OnboardingQueue',
    batchSize: param('onboardingBatchSize'),
    // Required by Lambda for batches above 10 (1 s at raised quotas), none at 1×: a batch of 10 is one
    // receive, and a window would only delay a lone sign-up. Under load a batch fills long before it ends.
    maximumBatchingWindowSeconds: param('onboardingBatchWindowSeconds'),
    reportBatchItemFailures: true,
    // 2 × one second of quota in flight per tenant: an import is told apart from a sign-up by its share of
    // the processing time on the fair queue (docs/onboarding.md, "Fairness").
    maximumConcurrency: param('onboardingConcurrency'),
  },
  iam: [
    // The tenant's policy decides the new user's expiration.
    { sid: 'ReadPolicy', actions: ['dynamodb:GetItem'], resource: { table: 'PolicyTable' } },
    // Ledger entries of the users it created (Ledger.putMany; onboarding never reads the ledger), and its
    // Chime quota lease (QuotaLeases: one UpdateItem renews it and reads the others').
    {
      sid: 'WriteLedgerAndQuotaLease',
      actions: ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem'],
      resource: { table: 'StateTable' },
    },
    // Powertools idempotency records, a batch at a time (shared/aws/idempotency-store.ts): the conditional
    // puts travel in TransactWriteItems, which IAM authorises as PutItem per item; completions and deletions
    // in BatchWriteItem; GetItem only after a conflict without a record.
    {
      sid: 'Idempotency',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
      resource: { table: 'IdempotencyTable' },
    },
    // The event source mapping polls with the function's role; the handler sets each failed message's retry
    // delay with ChangeMessageVisibility.
    {
      sid: 'ConsumeOnboarding',
      actions: [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ],
      resource: { queue: 'OnboardingQueue' },
    },
    // A request that can never succeed goes to the DLQ at once, with its reason.
    {
      sid: 'DeadLetterRejectedRequests',
      actions: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
      resource: { queue: 'OnboardingDeadLetterQueue' },
    },
    { sid: 'PublishLifecycleEvents', actions: ['events:PutEvents'], resource: { eventBus: 'EventBus' } },
    // CreateAppInstanceUser has no resource type in the Service Authorization Reference: only Resource "*"
    // grants it, so IAM cannot keep a tenant inside its own AppInstance. The code does: the AppInstance
    // always comes from the tenant's policy, never from the message (see docs/deploy.md, "Tenant
    // isolation"). Its only condition keys are aws:RequestTag and aws:TagKeys, and the tags are the
    // producer's, so no condition could narrow it either.
    { sid: 'CreateChimeUsers', actions: ['chime:CreateAppInstanceUser'], resource: '*' },
    // CreateAppInstanceUser with ExpirationSettings also needs PutAppInstanceUserExpirationSettings (Chime
    // SDK developer guide, "Using ExpirationSettings"); Describe/Update/Put converge a user that already
    // exists.
    {
      sid: 'ConvergeChimeUsers',
      actions: [
        'chime:DescribeAppInstanceUser',
        'chime:UpdateAppInstanceUser',
        'chime:PutAppInstanceUserExpirationSettings',
      ],
      resource: { chime: 'appInstanceUsers' },
    },
    // Converging an existing user's expiration first checks it is not an AppInstanceAdmin.
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
