import {
  type ChimeSDKIdentityClient,
  CreateAppInstanceUserCommand,
  DeleteAppInstanceUserCommand,
  DescribeAppInstanceUserCommand,
  ExpirationCriterion,
  PutAppInstanceUserExpirationSettingsCommand,
  paginateListAppInstanceAdmins,
  paginateListAppInstanceUsers,
  UpdateAppInstanceUserCommand,
} from '@aws-sdk/client-chime-sdk-identity';
import type { ExistingUser, NewUser } from '../contracts/chime-user';
import { appInstanceArnOfUser, appInstanceUserArn, appInstanceUserIdOf } from './arn';
import { untilDeadline } from './client';
import type { ChimeClientRouter } from './clients';
import { classifyChimeError } from './errors';

/** ListAppInstanceUsers' maximum page size. */
export const USERS_PAGE_SIZE = 50;
/** ListAppInstanceAdmins' maximum page size. */
export const ADMINS_PAGE_SIZE = 50;

/** A listed user: name and metadata are sensitive (customer PII), never log them. */
export type ChimeUserSummary = Omit<ExistingUser, 'createdAt' | 'expirationDays'>;

export interface ChimeUsersPage {
  readonly users: readonly ChimeUserSummary[];
  /** Resume the listing from here with `listPages(arn, { startToken })`; undefined on the last page. */
  readonly nextToken: string | undefined;
}

/**
 * Chime SDK Identity AppInstanceUsers, as the use cases see them. Transport only: it decides nothing
 * (what to create, which expiration to set: that is the policy engine's job) and logs nothing.
 * The clients must come from `createChimeClient`, which rate limits every attempt. Each call goes through
 * the client of the AppInstance it names (its Region, its tenant's credentials: see clients.ts), or through
 * the one client given.
 */
export class ChimeUsers {
  private readonly router: ChimeClientRouter;

  constructor(
    clients: ChimeSDKIdentityClient | ChimeClientRouter,
    /** When it aborts, calls still waiting for rate tokens give up (see `untilDeadline`); listings ignore it. */
    private readonly deadline?: AbortSignal,
  ) {
    this.router = 'forAppInstance' in clients ? clients : { forAppInstance: () => clients };
  }

  /** The client for a call on this AppInstance. */
  private clientFor(appInstanceArn: string): ChimeSDKIdentityClient {
    return this.router.forAppInstance(appInstanceArn);
  }

  /** The client for a call on this user (its AppInstance's). */
  private clientOfUser(userArn: string): ChimeSDKIdentityClient {
    return this.clientFor(appInstanceArnOfUser(userArn) ?? userArn);
  }

  /** The ARN Chime gives (or gave) this user; no API call. */
  userArn(appInstanceArn: string, appInstanceUserId: string): string {
    return appInstanceUserArn(appInstanceArn, appInstanceUserId);
  }

  /** Pages of 50 users; pass a saved `nextToken` as `startToken` to resume a listing. */
  async *listPages(
    appInstanceArn: string,
    { startToken }: { startToken?: string } = {},
  ): AsyncGenerator<ChimeUsersPage> {
    const paginator = paginateListAppInstanceUsers(
      {
        client: this.clientFor(appInstanceArn),
        pageSize: USERS_PAGE_SIZE,
        ...(startToken === undefined ? {} : { startingToken: startToken }),
      },
      { AppInstanceArn: appInstanceArn },
    );
    for await (const page of paginator) {
      const users = (page.AppInstanceUsers ?? []).flatMap((summary) =>
        summary.AppInstanceUserArn
          ? [
              {
                arn: summary.AppInstanceUserArn,
                appInstanceUserId: appInstanceUserIdOf(summary.AppInstanceUserArn),
                name: summary.Name ?? '',
                metadata: summary.Metadata ?? '',
              },
            ]
          : [],
      );
      yield { users, nextToken: page.NextToken || undefined };
    }
  }

  /**
   * The AppInstanceUserIds of the AppInstance's admins (ListAppInstanceAdmins, every page). Admins that are
   * bots (`.../bot/...`) are left out: the sync manages users only.
   */
  async listAdminUserIds(appInstanceArn: string): Promise<string[]> {
    const ids: string[] = [];
    const paginator = paginateListAppInstanceAdmins(
      { client: this.clientFor(appInstanceArn), pageSize: ADMINS_PAGE_SIZE },
      { AppInstanceArn: appInstanceArn },
    );
    for await (const page of paginator) {
      for (const admin of page.AppInstanceAdmins ?? []) {
        const arn = admin.Admin?.Arn;
        if (arn?.includes('/user/')) ids.push(appInstanceUserIdOf(arn));
      }
    }
    return ids;
  }

  /**
   * The user, or null when it no longer exists (NotFoundException / 404). A ForbiddenException is thrown,
   * never read as "gone": it may be an IAM problem, and a reconciler that forgot users on a 403 would
   * lose track of live ones.
   */
  async describe(userArn: string): Promise<ExistingUser | null> {
    try {
      const { AppInstanceUser: user } = await this.clientOfUser(userArn).send(
        untilDeadline(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: userArn }), this.deadline),
      );
      if (!user) throw new Error('DescribeAppInstanceUser answered without AppInstanceUser');
      if (!user.CreatedTimestamp)
        throw new Error('DescribeAppInstanceUser answered without CreatedTimestamp');
      const arn = user.AppInstanceUserArn ?? userArn;
      return {
        arn,
        appInstanceUserId: appInstanceUserIdOf(arn),
        name: user.Name ?? '',
        metadata: user.Metadata ?? '',
        createdAt: user.CreatedTimestamp.getTime(),
        expirationDays: user.ExpirationSettings?.ExpirationDays,
      };
    } catch (error) {
      if (classifyChimeError(error) === 'not-found') return null;
      throw error;
    }
  }

  /** Sets the expiration (days from creation), or removes it with `null`. */
  async putExpiration(userArn: string, days: number | null): Promise<void> {
    await this.clientOfUser(userArn).send(
      untilDeadline(
        new PutAppInstanceUserExpirationSettingsCommand({
          AppInstanceUserArn: userArn,
          // Omitting ExpirationSettings is how the API removes an expiration.
          ...(days === null ? {} : { ExpirationSettings: expirationSettings(days) }),
        }),
        this.deadline,
      ),
    );
  }

  /** Creates the user and returns its ARN. Errors (409 for an existing user, ...) are the caller's to judge. */
  async create(user: NewUser): Promise<string> {
    const tags =
      user.tags === undefined ? [] : Object.entries(user.tags).map(([Key, Value]) => ({ Key, Value }));
    const { AppInstanceUserArn } = await this.clientFor(user.appInstanceArn).send(
      untilDeadline(
        new CreateAppInstanceUserCommand({
          AppInstanceArn: user.appInstanceArn,
          AppInstanceUserId: user.appInstanceUserId,
          Name: user.name,
          ClientRequestToken: user.clientRequestToken,
          ...(user.metadata === undefined ? {} : { Metadata: user.metadata }),
          ...(tags.length === 0 ? {} : { Tags: tags }),
          ...(user.expirationDays === undefined
            ? {}
            : { ExpirationSettings: expirationSettings(user.expirationDays) }),
        }),
        this.deadline,
      ),
    );
    return AppInstanceUserArn ?? appInstanceUserArn(user.appInstanceArn, user.appInstanceUserId);
  }

  /** Replaces name and metadata (the API requires both; pass '' to clear metadata). */
  async update(userArn: string, { name, metadata }: { name: string; metadata: string }): Promise<void> {
    await this.clientOfUser(userArn).send(
      untilDeadline(
        new UpdateAppInstanceUserCommand({ AppInstanceUserArn: userArn, Name: name, Metadata: metadata }),
        this.deadline,
      ),
    );
  }

  async delete(userArn: string): Promise<void> {
    await this.clientOfUser(userArn).send(
      untilDeadline(new DeleteAppInstanceUserCommand({ AppInstanceUserArn: userArn }), this.deadline),
    );
  }
}

function expirationSettings(days: number) {
  return { ExpirationDays: days, ExpirationCriterion: ExpirationCriterion.CREATED_TIMESTAMP };
}
