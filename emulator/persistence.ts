/**
 * Saving and loading the emulator's state (`stateFile`), so `npm start -- --persist` comes back where it
 * stopped. Writes go to a temporary file renamed over the old one: a process killed at any moment (SIGKILL
 * included) leaves either the previous snapshot or the new one, never half of one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ServiceSnapshot } from './snapshot';
import {
  STATE_FORMAT as FORMAT,
  type StateCheckContext,
  stateProblem,
  STATE_VERSION as VERSION,
} from './state-check';

/**
 * A state file that cannot be restored as it is. Nothing of it was restored, and the file is left untouched
 * (no save happens before a successful load), so fixing the field named is enough.
 */
export class StateFileError extends Error {
  override name = 'StateFileError';
}

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

/**
 * Reads a saved state; undefined when there is none. A file that is not one, or holds one field the API's
 * rules or the emulator's own would refuse (state-check.ts), is refused as a whole with one line naming the
 * file and the field's JSON path: nothing of it is restored, so nothing is dropped, and nothing is written.
 */
export function loadState(file: string, context: StateCheckContext): EmulatorState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const refuse = (what: string) =>
    new StateFileError(
      `${file}: ${what}; the saved emulator state was not loaded and the file is left as it is: fix that field, or delete the file (npm start -- --persist --reset) to start empty`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw refuse(`not JSON (${(error as Error).message})`);
  }
  const problem = stateProblem(parsed, context);
  if (problem) throw refuse(problem);
  return parsed as EmulatorState;
}
