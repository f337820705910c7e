import { vi } from 'vitest';
import { type ChimeEmulator, type ChimeEmulatorOptions, startChimeEmulator } from '../../../emulator/index';

export interface EmulatorStatsBody {
  calls: Record<string, number>;
  throttled: Record<string, number>;
  faults: number;
}

/**
 * Starts an emulator and points the SDK at it the way production does: through the standard
 * `AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY` variable (each test file runs in its own worker).
 */
export async function startEmulatorForSdk(options: ChimeEmulatorOptions): Promise<ChimeEmulator> {
  const emulator = await startChimeEmulator({ port: 0, ...options });
  vi.stubEnv('AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY', emulator.url);
  vi.stubEnv('AWS_REGION', emulator.region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  return emulator;
}

/** The emulator's own counters, over its admin HTTP API. */
export async function emulatorStats(emulator: ChimeEmulator): Promise<EmulatorStatsBody> {
  const response = await fetch(`${emulator.url}/_emulator/stats`);
  if (!response.ok) throw new Error(`stats: HTTP ${response.status}`);
  return (await response.json()) as EmulatorStatsBody;
}

export function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, count) => total + count, 0);
}
