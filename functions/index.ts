import onboardUsers from './onboard-users/function';
import policyChanged from './policy-changed/function';
import reconcileTenant from './reconcile-tenant/function';
import recordActivity from './record-activity/function';
import scheduleSync from './schedule-sync/function';
import userRemoved from './user-removed/function';

/**
 * Every function of the service. The deployed template (serverless.ts) and the local stack are both built
 * from this list: adding a function is its folder (handler.ts, function.ts, event.json) and its entry here.
 */
export const FUNCTIONS = [
  scheduleSync,
  reconcileTenant,
  onboardUsers,
  policyChanged,
  recordActivity,
  userRemoved,
] as const;

export type DeclaredFunction = (typeof FUNCTIONS)[number];
export type FunctionName = DeclaredFunction['name'];
/** The functions an SQS queue triggers. */
export type SqsFunctionName = Extract<DeclaredFunction, { trigger: { type: 'sqs' } }>['name'];
