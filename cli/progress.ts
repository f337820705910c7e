/**
 * A one-line progress display on stderr for long reads (`plan`, `sync`, `report`): users scanned, of an
 * estimate when one is known (the tenant's last run), the rate and the time left. Only on a terminal and
 * never with --json: piped or machine-read output stays exactly the result.
 */
export interface Progress {
  /** Called with the running total of users scanned. */
  update(scanned: number): void;
  /** Clears the line. */
  done(): void;
}

const SILENT: Progress = { update: () => {}, done: () => {} };
const REDRAW_MS = 100;

export function progressOnTerminal(
  label: string,
  options: {
    readonly json?: boolean | undefined;
    readonly estimate?: number | undefined;
    /** What is counted (default `users scanned`). */
    readonly unit?: string;
  },
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (options.json || !stream.isTTY) return SILENT;
  const started = Date.now();
  let drawnAt = 0;
  let drawn = false;
  return {
    update(scanned) {
      const now = Date.now();
      if (now - drawnAt < REDRAW_MS) return;
      drawnAt = now;
      drawn = true;
      const seconds = Math.max((now - started) / 1000, 0.001);
      const rate = scanned / seconds;
      const estimate = options.estimate && options.estimate >= scanned ? options.estimate : undefined;
      const parts = [
        `${label}: ${scanned.toLocaleString('en-US')}${estimate ? ` of ~${estimate.toLocaleString('en-US')}` : ''} ${options.unit ?? 'users scanned'}`,
        `${Math.round(rate).toLocaleString('en-US')}/s`,
      ];
      if (estimate && rate > 0) parts.push(`ETA ${formatSeconds((estimate - scanned) / rate)}`);
      stream.write(`\r\x1b[K${parts.join(' · ')}`);
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}
