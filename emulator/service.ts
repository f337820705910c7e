/**
 * The in-memory Chime SDK Identity: the store (store.ts) with the model's operations bound to it
 * (operations/, one module per resource), resource limits, the expiry sweeper's entry point, the admin seed
 * and snapshots for persistence. Inputs arrive already validated against the model (see validation.ts).
 */
import type { Scope } from './caller';
import { bindOperations } from './operations/index';
import type { OperationHandler, OperationInput } from './operations/types';
import { type SeedUser, seedUsers } from './operations/users';
import { restoreSnapshot, type ServiceSnapshot, takeSnapshot } from './snapshot';
import { IdentityStore, type ServiceConfig } from './store';

export type { OperationInput } from './operations/types';
export { DEFAULT_LIMITS, type ResourceLimits } from './records';

export class ChimeIdentityService {
  private readonly store: IdentityStore;
  /** Every model operation by name, called with a request validated against the model's input shape. */
  readonly handlers: Readonly<Record<string, OperationHandler>>;

  constructor(config: ServiceConfig) {
    this.store = new IdentityStore(config);
    this.handlers = bindOperations(this.store);
  }

  reset(): void {
    this.store.reset();
  }

  counts(): { appInstances: number; users: number; bots: number } {
    return this.store.counts();
  }

  /** The AppInstance a request is about (for per-AppInstance quotas), from whichever ARN member it has. */
  appInstanceOf(input: OperationInput): string | undefined {
    return this.store.appInstanceOf(input);
  }

  /** Deletes every user whose expiry plus the deletion delay has passed; returns how many. */
  sweepExpired(): number {
    return this.store.sweepExpired();
  }

  /**
   * Creates an AppInstance for the admin seed (the account limit applies, quotas do not), in `where` or the
   * default Region and account, or under `arn` when given (its Region and account); returns its ARN.
   */
  createAppInstanceDirect(
    name: string,
    metadata: string | undefined,
    where: Partial<Scope> = {},
    arn?: string,
  ): string {
    const { region, accountId } = this.store.config;
    const scope = { region: where.region ?? region, account: where.account ?? accountId };
    return this.store.createAppInstance(name, metadata, [], scope, arn).arn;
  }

  /** Runs one API operation as a request of `scope`: it sees and creates that account's and Region's only. */
  within<T>(scope: Scope, work: () => T): T {
    return this.store.within(scope, work);
  }

  /** Loads many users at once (admin seed): no quotas, one sort at the end. Users must be pre-validated. */
  seedUsers(appInstanceArn: string, users: readonly SeedUser[]): string[] {
    return seedUsers(this.store, appInstanceArn, users);
  }

  /** Removes an AppInstance created by a seed whose users then failed to load, so the failed seed changes nothing. */
  removeAppInstanceDirect(arn: string): void {
    this.store.removeAppInstance(arn);
  }

  /** How many users an AppInstance holds now (after the expiry sweep), or undefined when it does not exist. */
  userCount(appInstanceArn: string): number | undefined {
    return this.store.appInstances.get(appInstanceArn)?.users.size;
  }

  /** Everything the service holds, as plain JSON-able data (see restore). */
  snapshot(): ServiceSnapshot {
    return takeSnapshot(this.store);
  }

  /** Replaces everything with a snapshot taken by `snapshot()` (by this version of the emulator). */
  restore(snapshot: ServiceSnapshot): void {
    restoreSnapshot(this.store, snapshot);
  }
}
