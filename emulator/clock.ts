/**
 * The emulator's wall clock: real time plus an adjustable offset, so tests can jump ahead (expiry) while time
 * keeps flowing. Quotas deliberately do not use it (they run on performance.now).
 */
export class EmulatorClock {
  private offsetMs = 0;

  /** Current emulator time in epoch milliseconds. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  advance(seconds: number): number {
    this.offsetMs += seconds * 1000;
    return this.now();
  }

  /** Moves the clock to an absolute instant (it keeps running from there). */
  set(epochMs: number): number {
    this.offsetMs = epochMs - Date.now();
    return this.now();
  }

  /** The offset from real time (what a saved state keeps). */
  get offset(): number {
    return this.offsetMs;
  }

  restoreOffset(offsetMs: number): void {
    this.offsetMs = offsetMs;
  }

  reset(): void {
    this.offsetMs = 0;
  }
}
