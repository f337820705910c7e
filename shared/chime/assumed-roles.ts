import { AssumeRoleCommand, type AssumeRoleCommandOutput, type STSClient } from '@aws-sdk/client-sts';
import { doesIdentityRequireRefresh, isIdentityExpired, memoizeIdentityProvider } from '@smithy/core';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { ChimeAccessError } from './access-error';

export { ChimeAccessError } from './access-error';

import type { TenantAccess } from '../policy';

function stsErrorText(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return `${typeof name === 'string' ? name : 'error'}${typeof status === 'number' ? ` (HTTP ${status})` : ''}`;
}

/** RoleSessionName: 2..64 of `[\w+=,.@-]`. It shows in the tenant account's CloudTrail as who called. */
export function roleSessionName(caller: string | undefined): string {
  const cleaned = `chime-lifecycle${caller ? `-${caller}` : ''}`.replace(/[^\w+=,.@-]/g, '-');
  return cleaned.slice(0, 64);
}

/**
 * Credentials of the tenants' roles, one provider per role and external id for the whole process.
 *
 * Why not `fromTemporaryCredentials` (@aws-sdk/credential-providers), which does the same AssumeRole: it
 * builds its own STS client inside the SDK's packages, where the IAM package test cannot see the call, so
 * `sts:AssumeRole` would be granted without the code that needs it being traced
 * (test/integration/deploy/code-trace.ts follows our code to the SDK commands it sends). Sending
 * AssumeRoleCommand here keeps the grant derived from the code. Caching is still the SDK's own:
 * `memoizeIdentityProvider` with `isIdentityExpired` (@smithy/core) reuses the credentials until 5 minutes
 * before they expire and coalesces concurrent refreshes, as every SDK client does with a credentials
 * function.
 */
export class AssumedRoles {
  private readonly providers = new Map<string, AwsCredentialIdentityProvider>();

  constructor(
    /** Built on first use: a process whose tenants all use its own credentials never makes an STS client. */
    private readonly sts: () => STSClient,
    private readonly sessionName: string,
  ) {}

  /** The (cached) credentials provider of a tenant's role. */
  credentialsFor(access: TenantAccess): AwsCredentialIdentityProvider {
    const key = `${access.roleArn}\n${access.externalId}`;
    let provider = this.providers.get(key);
    if (!provider) {
      provider = memoizeIdentityProvider(
        () => this.assume(access),
        isIdentityExpired,
        doesIdentityRequireRefresh,
      ) as AwsCredentialIdentityProvider;
      this.providers.set(key, provider);
    }
    return provider;
  }

  private async assume(access: TenantAccess): Promise<AwsCredentialIdentity> {
    let credentials: AssumeRoleCommandOutput['Credentials'];
    try {
      ({ Credentials: credentials } = await this.sts().send(
        new AssumeRoleCommand({
          RoleArn: access.roleArn,
          ExternalId: access.externalId,
          RoleSessionName: this.sessionName,
        }),
      ));
    } catch (error) {
      const sdkError = error as Parameters<typeof isTransientError>[0];
      throw new ChimeAccessError(access.roleArn, stsErrorText(error), {
        retryable: isThrottlingError(sdkError) || isTransientError(sdkError),
        cause: error,
      });
    }
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey) {
      throw new ChimeAccessError(access.roleArn, 'an answer without credentials', { retryable: true });
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      ...(credentials.SessionToken ? { sessionToken: credentials.SessionToken } : {}),
      ...(credentials.Expiration ? { expiration: credentials.Expiration } : {}),
    };
  }
}
