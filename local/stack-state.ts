import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChimeEmulator } from '../emulator';
import { sameDocument } from '../shared/aws/policy-store';
import type { Runtime } from '../shared/composition-root';
import { parseAppInstanceArn } from '../shared/policy';
import { type DemoTenant, seedDemo } from './demo';

/**
 * What the stack holds when it is up: the demo seeded into an empty system (or what a `--persist` start
 * kept), the tenants as the banner shows them, and the runs an earlier start left half done, handed back.
 */

/** A tenant as the banner shows it: what exists in Chime now. */
export interface TenantSummary {
  readonly tenantId: string;
  readonly appInstanceArn: string;
  /** The Region of its AppInstance (from the ARN): where its Chime calls go. */
  readonly region: string;
  /** Users in Chime now (undefined when the AppInstance does not exist in the emulator). */
  readonly users: number | undefined;
  /** Demo users seeded already past their expiry plus Chime's deletion delay, which the sweep deleted at once. */
  readonly sweptAtSeed: number;
}

export interface ResumedRun {
  readonly tenantId: string;
  readonly runId: string;
  readonly step: number;
}

/** A demo policy file in `<workDir>/policies/`, and what this start did with it. */
export interface PolicyFile {
  readonly tenantId: string;
  readonly file: string;
  /**
   * `written`: there was none, so the demo wrote the policy it stored. `kept`: the file was there (an earlier
   * start wrote it) and is what was stored. `edited`: the file was there and differs from what was stored
   * (the operator's edits): kept as it is, never overwritten; `policy put` it to use it.
   */
  readonly state: 'written' | 'kept' | 'edited';
}

export interface StackState {
  readonly tenants: readonly DemoTenant[];
  readonly summary: readonly TenantSummary[];
  readonly resumedRuns: readonly ResumedRun[];
  /** The demo's policy files (none when the demo was not seeded or there is no work directory). */
  readonly policyFiles: readonly PolicyFile[];
}

export interface StateOptions {
  /** Seed the demo (default true); only ever into a system without policies. */
  readonly demo?: boolean;
  /** Where the demo's policy documents are written (`<workDir>/policies/<tenant>.json`). */
  readonly workDir?: string;
  /** This start found saved state (`--persist`): keep it, resume its runs. */
  readonly restored: boolean;
}

export async function prepareState(
  runtime: Runtime,
  emulator: ChimeEmulator,
  options: StateOptions,
): Promise<StackState> {
  // A restored start keeps what it had: the demo is seeded only into an empty system.
  const existing = options.restored ? await runtime.policyStore.list() : [];
  const tenants =
    options.demo === false || existing.length > 0 ? [] : await seedDemo(emulator, runtime.policyStore);
  const policyFiles =
    tenants.length > 0 && options.workDir ? await writePolicies(options.workDir, tenants) : [];
  // Demo users seeded already past their expiry (plus Chime's deletion delay) are deleted by the sweep at
  // once, as Chime would; count what is left, so the banner shows what exists.
  emulator.sweep();
  const summary: TenantSummary[] =
    tenants.length > 0
      ? tenants.map((tenant) => {
          const users = emulator.userCount(tenant.appInstanceArn);
          return {
            tenantId: tenant.tenantId,
            appInstanceArn: tenant.appInstanceArn,
            region: regionOf(tenant.appInstanceArn),
            users,
            sweptAtSeed: tenant.users - (users ?? 0),
          };
        })
      : existing.map((stored) => ({
          tenantId: stored.tenantId,
          appInstanceArn: stored.policy.appInstanceArn,
          region: regionOf(stored.policy.appInstanceArn),
          users: emulator.userCount(stored.policy.appInstanceArn),
          sweptAtSeed: 0,
        }));
  const resumedRuns = await resumeRuns(
    runtime,
    existing.map((stored) => stored.tenantId),
  );
  return { tenants, summary, resumedRuns, policyFiles };
}

function regionOf(appInstanceArn: string): string {
  return parseAppInstanceArn(appInstanceArn)?.region ?? 'unknown';
}

/**
 * Writes each demo tenant's policy to `<workDir>/policies/<tenant>.json` where there is no such file yet: a
 * file that is there (the operator may have edited it) is never overwritten, only compared with what the
 * demo stored, so the banner can say which is which.
 */
async function writePolicies(workDir: string, tenants: readonly DemoTenant[]): Promise<PolicyFile[]> {
  const dir = path.join(workDir, 'policies');
  await mkdir(dir, { recursive: true });
  const files: PolicyFile[] = [];
  for (const tenant of tenants) {
    const file = path.join(dir, `${tenant.tenantId}.json`);
    const text = `${JSON.stringify(tenant.document, null, 2)}\n`;
    try {
      // 'wx': created only if absent, atomically (no check-then-write race with an editor saving it).
      await writeFile(file, text, { flag: 'wx' });
      files.push({ tenantId: tenant.tenantId, file, state: 'written' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const same = sameDocument(parsedOrNull(await readFile(file, 'utf8')), tenant.document);
      files.push({ tenantId: tenant.tenantId, file, state: same ? 'kept' : 'edited' });
    }
  }
  return files;
}

function parsedOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The queues are in memory, so a run an earlier start left half done lost its message; hand it back to the
 * reconcile queue from its checkpoint, as SQS redelivery would have.
 */
async function resumeRuns(runtime: Runtime, tenantIds: readonly string[]): Promise<ResumedRun[]> {
  const resumed: ResumedRun[] = [];
  for (const tenantId of tenantIds) {
    const [latest] = await runtime.runs.recent(tenantId, 1);
    if (latest?.state !== 'running') continue;
    await runtime.reconcileQueue().send([
      {
        kind: 'continue',
        tenantId: latest.tenantId,
        runId: latest.runId,
        step: latest.step,
        ...(latest.cursor === undefined ? {} : { cursor: latest.cursor }),
        counters: { ...latest.counters },
      },
    ]);
    resumed.push({ tenantId: latest.tenantId, runId: latest.runId, step: latest.step });
  }
  return resumed;
}
