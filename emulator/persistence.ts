/**
 * Saving and loading the emulator's state (`stateFile`), so `npm start -- --persist` comes back where it
 * stopped. Writes go to a temporary file renamed over the old one: a process killed at any moment (SIGKILL
 * included) leaves either the previous snapshot or the new one, never half of one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ServiceSnapshot } from './snapshot';

const FORMAT = 'chime-sdk-identity-emulator-state';
const VERSION = 1;

export interface EmulatorState {
  readonly format: typeof FORMAT;
  readonly version: typeof VERSION;
  readonly savedAt: string;
  /** The emulator clock's offset from real time, so a moved clock stays moved. */
  readonly clockOffsetMs: number;
  readonly service: ServiceSnapshot;
}

export function stateOf(service: ServiceSnapshot, clockOffsetMs: number): EmulatorState {
  return { format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), clockOffsetMs, service };
}

/** Writes the state atomically (temporary file, then rename). */
export function saveState(file: string, state: EmulatorState): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state));
  renameSync(temporary, file);
}

/** Reads a saved state; undefined when there is none. A file that is not one is an error naming it. */
export function loadState(file: string): EmulatorState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: Partial<EmulatorState>;
  try {
    parsed = JSON.parse(text) as Partial<EmulatorState>;
  } catch (error) {
    throw new Error(
      `${file} is not a saved emulator state (${(error as Error).message}); delete it to start empty`,
    );
  }
  if (parsed.format !== FORMAT || parsed.version !== VERSION) {
    throw new Error(
      `${file} is not a saved emulator state of version ${VERSION} (format ${String(parsed.format)}, version ${String(parsed.version)}); delete it to start empty`,
    );
  }
  if (
    typeof parsed.clockOffsetMs !== 'number' ||
    !Number.isFinite(parsed.clockOffsetMs) ||
    !Array.isArray(parsed.service?.appInstances) ||
    !Array.isArray(parsed.service?.idempotencyTokens)
  ) {
    throw new Error(
      `${file} is a damaged emulator state (missing clock or resources); delete it to start empty`,
    );
  }
  return parsed as EmulatorState;
}
