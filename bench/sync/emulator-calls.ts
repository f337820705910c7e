/** The emulator's admin API as the sync bench uses it: seeding tenants, and calls between two stats readings. */
import { population } from '../sync-stack';

/** A seeded tenant: its id and its AppInstance. */
export interface Tenant {
  readonly id: string;
  readonly arn: string;
}

interface EmulatorStats {
  readonly calls: Record<string, number>;
  readonly throttled: Record<string, number>;
}

export async function emulatorStats(url: string): Promise<EmulatorStats> {
  const response = await fetch(`${url}/_emulator/stats`);
  if (!response.ok) throw new Error(`GET /_emulator/stats answered ${response.status}`);
  return (await response.json()) as EmulatorStats;
}

/** Seeds an AppInstance of `size` users (in `region`, default the emulator's) and returns its ARN. */
export async function seedTenant(url: string, name: string, size: number, region?: string): Promise<string> {
  const response = await fetch(`${url}/_emulator/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      appInstanceName: name,
      ...(region ? { region } : {}),
      users: population(size, Date.now()),
    }),
  });
  const body = (await response.json()) as { appInstanceArn?: string; userArns?: string[] };
  if (response.status !== 201 || !body.appInstanceArn || body.userArns?.length !== size) {
    throw new Error(
      `seeding ${name} failed with HTTP ${response.status}: ${JSON.stringify(body).slice(0, 300)}`,
    );
  }
  return body.appInstanceArn;
}

/** Calls (every attempt, throttled ones included) and throttles between two stats readings. */
export class CallDelta {
  readonly calls: Record<string, number> = {};
  readonly throttled: Record<string, number> = {};

  constructor(before: EmulatorStats, after: EmulatorStats) {
    for (const [operation, count] of Object.entries(after.calls)) {
      const delta = count - (before.calls[operation] ?? 0);
      if (delta > 0) this.calls[operation] = delta;
    }
    for (const [operation, count] of Object.entries(after.throttled)) {
      const delta = count - (before.throttled[operation] ?? 0);
      if (delta > 0) this.throttled[operation] = delta;
    }
  }

  get total(): number {
    return sum(Object.values(this.calls));
  }

  get totalThrottled(): number {
    return sum(Object.values(this.throttled));
  }

  /** Calls the emulator admitted (a throttled call takes no quota token). */
  admitted(operation: string): number {
    return (this.calls[operation] ?? 0) - (this.throttled[operation] ?? 0);
  }

  describe(): string {
    return Object.entries(this.calls)
      .map(
        ([operation, count]) =>
          `${operation} ${count}${this.throttled[operation] ? ` (${this.throttled[operation]} throttled)` : ''}`,
      )
      .join(', ');
  }
}

export const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
