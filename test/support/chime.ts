import { type ChimeEmulator, startChimeEmulator } from '../../emulator';
import { DAY_MS } from '../../shared/policy';

export type { ChimeEmulator };

/** An in-process emulator with the quotas scaled up so tests run fast but still go through the limiter. */
export async function startTestEmulator(quotaScale = 50): Promise<ChimeEmulator> {
  return startChimeEmulator({ port: 0, quotaScale });
}

export interface SeedUser {
  readonly appInstanceUserId: string;
  readonly metadata?: string;
  /** Age of the user at the emulator's current time. */
  readonly ageMs: number;
  readonly expirationDays?: number;
}

/** Seeds one AppInstance; names are synthetic and never asserted on (they are sensitive in the product). */
export function seedTenant(emulator: ChimeEmulator, users: readonly SeedUser[], name = 'tenant'): string {
  const now = emulator.now().getTime();
  const result = emulator.seed({
    appInstanceName: name,
    users: users.map((user) => ({
      appInstanceUserId: user.appInstanceUserId,
      name: `User ${user.appInstanceUserId}`,
      createdAt: new Date(now - user.ageMs).toISOString(),
      ...(user.metadata === undefined ? {} : { metadata: user.metadata }),
      ...(user.expirationDays === undefined ? {} : { expirationDays: user.expirationDays }),
    })),
  });
  return result.appInstanceArn;
}

export const days = (count: number) => count * DAY_MS;
export const hours = (count: number) => count * 3_600_000;
