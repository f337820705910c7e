import { LifecycleError } from '../errors';

/**
 * A tenant's role could not be assumed (STS AssumeRole failed). Terminal unless STS itself was throttled or
 * unavailable: a trust policy, an external id or a `TenantAccessRoleArns` list that refuses us refuses every
 * retry too. The message names the role, never the external id.
 */
export class ChimeAccessError extends LifecycleError {
  override name = 'ChimeAccessError';
  constructor(
    readonly roleArn: string,
    readonly stsError: string,
    options: { readonly retryable: boolean; readonly cause?: unknown },
  ) {
    super(
      `could not assume ${roleArn} for the tenant's Chime calls (STS AssumeRole: ${stsError}); check the role's trust policy (the deploying account's function roles, sts:ExternalId = the policy's access.externalId) and that the stack parameter TenantAccessRoleArns lists it (docs/deploy.md)`,
      options,
    );
  }
}
