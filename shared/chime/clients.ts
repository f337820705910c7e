import type { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { parseRoleArn, type TenantAccess } from '../policy';
import type { AssumedRoles } from './assumed-roles';
import { type ChimeAttemptObserver, createChimeClient } from './client';
import { OWN_ACCOUNT, scopeOfArn } from './quotas';
import type { CallRateLimiter } from './rate-limiter';

/** What the Chime adapters (ChimeUsers) ask for: the client for a call on this AppInstance. */
export interface ChimeClientRouter {
  forAppInstance(appInstanceArn: string): ChimeSDKIdentityClient;
}

export interface ChimeClientsOptions {
  /** The process's limiter: every client of every Region and role takes its tokens here. */
  readonly limiter: CallRateLimiter;
  readonly observer?: ChimeAttemptObserver;
  /** Explicit endpoint (tests, benchmarks) for every Region; otherwise the SDK's for each Region. */
  readonly endpoint?: string;
  readonly maxAttempts?: number;
  /** The Region of an ARN that names none (it fails validation either way). */
  readonly defaultRegion: string;
  /** The tenants' roles (STS), for clients of tenants with `access`. */
  readonly roles: AssumedRoles;
}

/**
 * The Chime SDK Identity clients of a process: one per Region and credentials (the process's own, or one
 * tenant role's), each built once, on first use. A tenant's calls go to the Region its AppInstance ARN names
 * (Chime SDK Identity is regional: us-east-1 and eu-central-1), with its role's credentials when its policy
 * says `access`, and nothing else ever uses those credentials. All of them share one rate limiter, whose
 * buckets are per account and Region (quotas.ts).
 */
export class ChimeClients {
  private readonly clients = new Map<string, ChimeSDKIdentityClient>();

  constructor(private readonly options: ChimeClientsOptions) {}

  /** The client for calls on `appInstanceArn` (or one of its users), with the tenant's access if any. */
  forAppInstance(appInstanceArn: string, access?: TenantAccess): ChimeSDKIdentityClient {
    return this.forRegion(scopeOfArn(appInstanceArn)?.region ?? this.options.defaultRegion, access);
  }

  /** The client of a Region, with the process's own credentials or a tenant role's. */
  forRegion(region: string, access?: TenantAccess): ChimeSDKIdentityClient {
    const key = access ? `${region}\n${access.roleArn}\n${access.externalId}` : region;
    let client = this.clients.get(key);
    if (!client) {
      const { limiter, observer, endpoint, maxAttempts, roles } = this.options;
      client = createChimeClient({
        limiter,
        region,
        scope: { region, account: (access && parseRoleArn(access.roleArn)?.accountId) ?? OWN_ACCOUNT },
        ...(access ? { credentials: roles.credentialsFor(access) } : {}),
        ...(observer ? { observer } : {}),
        ...(endpoint ? { endpoint } : {}),
        ...(maxAttempts ? { maxAttempts } : {}),
      });
      this.clients.set(key, client);
    }
    return client;
  }

  destroy(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
