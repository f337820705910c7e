import type { ChimeSDKIdentityClient } from '@aws-sdk/client-chime-sdk-identity';
import { PolicyStore, type PolicyTables } from '../aws/policy-store';
import type { ChimeClientRouter, ChimeClients } from '../chime/clients';
import type { StoredPolicy } from '../contracts/stored-policy';
import type { TenantAccess } from '../policy';

/**
 * How a tenant's Chime calls are made, decided by the policy that manages its AppInstance: in the Region its
 * ARN names, with the role its `access` names (or the process's own credentials without one).
 *
 * The use cases name only AppInstances and users when they call Chime; what credentials such a call needs
 * is what the tenant's current policy says. Every use case reads that policy before it calls Chime (a
 * reconcile step at its start, onboarding through its short policy cache, plan, explain, apply), so the
 * composition root's policy store notes each current policy it reads here, and the Chime adapter asks
 * here for the client of the AppInstance it is about to call. The latest policy read wins; an AppInstance
 * no policy named in this process gets the own credentials of its Region (what a tenant without `access`
 * gets, and all that tests and tools that call Chime directly need). Two tenants never share an AppInstance
 * (the policy store's claims), so an AppInstance has one tenant's access at a time.
 */
export class ChimeAccess implements ChimeClientRouter {
  private readonly byAppInstance = new Map<string, TenantAccess | null>();

  /** `clients` is called on the first Chime call only: noting policies never builds a client. */
  constructor(private readonly clients: () => ChimeClients) {}

  /** Records how to reach a policy's AppInstance (a policy read now, or an unsaved one being previewed). */
  note(policy: { readonly appInstanceArn: string; readonly access?: TenantAccess | undefined }): void {
    this.byAppInstance.set(policy.appInstanceArn, policy.access ?? null);
  }

  /** The access the latest policy of this AppInstance gives, if any. */
  accessOf(appInstanceArn: string): TenantAccess | undefined {
    return this.byAppInstance.get(appInstanceArn) ?? undefined;
  }

  forAppInstance(appInstanceArn: string): ChimeSDKIdentityClient {
    return this.clients().forAppInstance(appInstanceArn, this.accessOf(appInstanceArn));
  }
}

/** The policy store, telling `ChimeAccess` about every current policy it reads (not about old versions). */
export class AccessNotingPolicyStore extends PolicyStore {
  constructor(
    dynamo: ConstructorParameters<typeof PolicyStore>[0],
    tables: PolicyTables,
    private readonly access: ChimeAccess,
  ) {
    super(dynamo, tables);
  }

  override async get(tenantId: string): Promise<StoredPolicy | null> {
    const stored = await super.get(tenantId);
    if (stored) this.access.note(stored.policy);
    return stored;
  }

  override async list(): Promise<StoredPolicy[]> {
    const policies = await super.list();
    for (const stored of policies) this.access.note(stored.policy);
    return policies;
  }
}
