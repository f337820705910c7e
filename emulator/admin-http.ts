/**
 * The admin API over HTTP (`/_emulator/...`, see admin.ts): body caps (the seed gets a larger one), and a
 * garbage collection after a large seed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type AdminContext, handleAdmin } from './admin';
import { parseJsonBody, readBody, requestHasBody, sendJson } from './http';

/**
 * A full garbage collection, if V8 lets us have one. A 100k-user seed leaves ~70 MB of parsed-request and
 * response garbage that V8 otherwise keeps (and keeps resident) for a long time while the emulator idles;
 * collecting once after a big seed keeps RSS close to the live data. Obtained lazily, on the first large
 * seed, so merely importing the emulator changes no V8 flag.
 */
let memoryReducingGc: (() => void) | null | undefined;
function collectGarbage(): void {
  if (memoryReducingGc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as unknown;
      // 'last-resort' is V8's memory-reducing full GC: it also shrinks the young generation and compacts.
      memoryReducingGc =
        typeof gc === 'function'
          ? () =>
              (gc as (options: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' })
          : null;
    } catch {
      memoryReducingGc = null;
    }
  }
  memoryReducingGc?.();
}
const LARGE_SEED_BYTES = 1024 * 1024;

export interface AdminHttpLimits {
  /** Body cap of every admin request but the seed. */
  readonly maxBodyBytes: number;
  readonly maxSeedBodyBytes: number;
}

/** Handles one admin request; `changed` is told of every request that may change the state. */
export async function handleAdminRequest(
  admin: AdminContext,
  limits: AdminHttpLimits,
  changed: () => void,
  request: IncomingMessage,
  response: ServerResponse,
  method: string,
  path: string,
): Promise<void> {
  const limit = path === '/_emulator/seed' ? limits.maxSeedBodyBytes : limits.maxBodyBytes;
  if (method !== 'GET') changed();
  const raw = requestHasBody(request) ? await readBody(request, limit) : undefined;
  const result = handleAdmin(admin, method, path, raw ? parseJsonBody(raw) : {});
  sendJson(response, result.status, result.body);
  if (raw && raw.length >= LARGE_SEED_BYTES) {
    response.once('finish', () => setImmediate(collectGarbage));
  }
}
