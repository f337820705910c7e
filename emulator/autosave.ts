/**
 * Keeping the state in `stateFile`: restored at start when the file exists, saved within `saveIntervalMs`
 * of any change and on close. The file's format, and the checks a loaded file passes, are persistence.ts's.
 */
import type { EmulatorClock } from './clock';
import { loadState, saveState, stateOf } from './persistence';
import type { ChimeIdentityService } from './service';

export class StateAutosave {
  /** Whether the state came from `stateFile` at start. */
  readonly restored: boolean;
  /** Set by anything that may have changed the state; `save` writes and clears it. */
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  /**
   * Restores the service and the clock from `stateFile` when it holds a saved state; throws (a
   * StateFileError, nothing restored, nothing saved) when the file holds a bad field.
   */
  constructor(
    private readonly stateFile: string | undefined,
    private readonly service: ChimeIdentityService,
    private readonly clock: EmulatorClock,
    where: { readonly region: string; readonly accountId: string },
  ) {
    const saved = stateFile ? loadState(stateFile, { ...where, nowMs: Date.now() }) : undefined;
    if (saved) {
      service.restore(saved.service);
      clock.restoreOffset(saved.clockOffsetMs);
    }
    this.restored = saved !== undefined;
  }

  /** Something may have changed the state: the next tick of the saver writes it. */
  changed(): void {
    this.dirty = true;
  }

  /** Saves now (a no-op without a state file). */
  save(): void {
    if (!this.stateFile) return;
    this.dirty = false;
    saveState(this.stateFile, stateOf(this.service.snapshot(), this.clock.offset));
  }

  /** Saves a changed state every `intervalMs` (a no-op without a state file). */
  start(intervalMs: number): void {
    if (!this.stateFile) return;
    this.timer = setInterval(() => {
      if (this.dirty) this.save();
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the saver and saves one last time. */
  stop(): void {
    clearInterval(this.timer);
    this.save();
  }
}
