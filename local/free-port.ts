import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canBind } from './port-owner';

/**
 * A free TCP port for a local service that is started later (a child process, a restart on the same ports).
 *
 * Not `listen(0)`: that answers a port of the kernel's ephemeral range, which the kernel goes on handing to
 * every other `listen(0)` and outgoing connection of the machine. Between the answer and the service's own
 * bind (or between a stop and a restart on the same ports) another process got it, and `local start`
 * refused, rightly, with "port … is already in use" (seen in CI: a test stack's STS port taken by another test
 * process's server). So the port is drawn at random below the ephemeral range, where the kernel never hands
 * ports out by itself, checked with a real bind, and claimed for CLAIM_TTL_MS with a file created exclusively
 * in a folder every process on this machine shares, so two callers never draw the same one.
 */
const CLAIM_TTL_MS = 60 * 60_000;
const LOWEST = 10_000;
const CLAIMS = path.join(tmpdir(), 'chime-lifecycle-port-claims');

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const highest = ephemeralRangeStart() - 1;
  mkdirSync(CLAIMS, { recursive: true });
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
    if (!claim(port)) continue;
    if (await canBind(port, host)) return port;
  }
  throw new Error(
    `no free port found between ${LOWEST} and ${highest} after 200 tries (claims in ${CLAIMS}); free some ports or remove that folder`,
  );
}

/** Creates the port's claim file; a claim older than CLAIM_TTL_MS is stale and taken over. */
function claim(port: number): boolean {
  const file = path.join(CLAIMS, String(port));
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  try {
    if (Date.now() - statSync(file).mtimeMs < CLAIM_TTL_MS) return false;
    unlinkSync(file);
    closeSync(openSync(file, 'wx'));
    return true;
  } catch {
    // Another caller took the stale claim over first.
    return false;
  }
}

/** The first port of the kernel's ephemeral range (Linux: /proc; elsewhere the IANA range's start, 49152). */
function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const start = Number(low);
    if (Number.isInteger(start) && start > LOWEST + 1_000) return start;
  } catch {
    // Not Linux.
  }
  return 49_152;
}
