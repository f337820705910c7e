import { defineFunction, param } from '../declaration';

export default defineFunction({
  name: 'schedule-sync',
  description: 'Queues one reconcile message per enabled tenant',
  // A Scan of the policy table and one GetItem per tenant: seconds even for thousands of tenants.
  timeoutSeconds: 60,
  trigger: { type: 'schedule', rate: param('scheduleRate'), enabled: param('scheduleEnabled') },
  iam: [
    // PolicyStore.list: a consistent Scan of every tenant's policy.
    { sid: 'ReadPolicies', actions: ['dynamodb:Scan'], resource: { table: 'PolicyTable' } },
    // RunStore.activeLease: skip a tenant whose previous run still holds its lease.
    { sid: 'CheckLeases', actions: ['dynamodb:GetItem'], resource: { table: 'StateTable' } },
    {
      sid: 'QueueReconciles',
      actions: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
      resource: { queue: 'ReconcileQueue' },
    },
  ],
});
