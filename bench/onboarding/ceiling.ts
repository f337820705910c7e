/**
 * The onboarding soak's ceiling (issue 24): the same clean pass, in a child process of its own (the handler
 * reads its configuration once, when imported) against fresh servers whose emulator and handler enforce the
 * quotas at CEILING_QUOTA_SCALE: what this machine carries of the same work, measured in the same run.
 *
 * The child is ceiling-child.ts: it runs that pass and prints `RESULT <creates/s>`.
 */
import { createInterface } from 'node:readline';
import { spawnNode } from '../sync/children';

/** The clean pass's creates/s with the quotas lifted, from a child process. */
export function cleanPassCeiling(): Promise<number> {
  const child = spawnNode(['--import', 'tsx', 'bench/onboarding/ceiling-child.ts']);
  return new Promise((resolve, reject) => {
    let rate: number | undefined;
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (line.startsWith('RESULT ')) rate = Number(line.slice('RESULT '.length));
    });
    child.once('exit', (code) => {
      if (code === 0 && rate !== undefined && Number.isFinite(rate)) resolve(rate);
      else
        reject(
          new Error(
            `onboarding ceiling child exited with ${code}${rate === undefined ? ' and no result' : ''}`,
          ),
        );
    });
  });
}
