import type { ExistingUser, NewUser } from '../contracts/chime-user';
import { ChimeCallError } from '../errors';
import type { OnboardingUsers } from '../onboarding/ports';
import type { UserDirectory, UserPage } from '../sync/ports';
import { classifyChimeError } from './errors';
import type { ChimeUsers } from './users';

/**
 * A failed Chime call in the terms the use cases understand: the SDK's exception is classified once
 * (shared/chime/errors.ts) and replaced by a ChimeCallError without Chime's message, which may quote the
 * Name or Metadata it refused. Anything that is not a Chime answer (a bug, an abort) passes unchanged.
 */
export function toChimeCallError(error: unknown, operation: string): unknown {
  if (!(error instanceof Error) || error instanceof ChimeCallError) return error;
  const kind = classifyChimeError(error);
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  const isServiceAnswer = typeof status === 'number' || kind !== 'unknown';
  if (!isServiceAnswer) return error;
  return new ChimeCallError(operation, kind, error.name, typeof status === 'number' ? status : undefined);
}

async function call<T>(operation: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toChimeCallError(error, operation);
  }
}

/**
 * The ports the sync (UserDirectory) and onboarding (OnboardingUsers) own, implemented over the rate
 * limited ChimeUsers. Name is not carried into the sync's listing: it is sensitive and the sync never needs it.
 */
export class ChimeUserPort implements UserDirectory, OnboardingUsers {
  constructor(private readonly users: ChimeUsers) {}

  userArn(appInstanceArn: string, appInstanceUserId: string): string {
    return this.users.userArn(appInstanceArn, appInstanceUserId);
  }

  async *listPages(appInstanceArn: string, options: { startToken?: string }): AsyncGenerator<UserPage> {
    const pages = this.users.listPages(appInstanceArn, options)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await call('ListAppInstanceUsers', () => pages.next());
        if (next.done) return;
        yield {
          users: next.value.users.map(({ arn, appInstanceUserId, metadata }) => ({
            arn,
            appInstanceUserId,
            metadata,
          })),
          nextToken: next.value.nextToken,
        };
      }
    } finally {
      await pages.return?.(undefined);
    }
  }

  async listAdmins(appInstanceArn: string): Promise<ReadonlySet<string>> {
    return new Set(await call('ListAppInstanceAdmins', () => this.users.listAdminUserIds(appInstanceArn)));
  }

  describe(userArn: string): Promise<ExistingUser | null> {
    return call('DescribeAppInstanceUser', () => this.users.describe(userArn));
  }

  putExpiration(userArn: string, days: number | null): Promise<void> {
    return call('PutAppInstanceUserExpirationSettings', () => this.users.putExpiration(userArn, days));
  }

  create(user: NewUser): Promise<string> {
    return call('CreateAppInstanceUser', () => this.users.create(user));
  }

  update(userArn: string, attributes: { name: string; metadata: string }): Promise<void> {
    return call('UpdateAppInstanceUser', () => this.users.update(userArn, attributes));
  }
}
