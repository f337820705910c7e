import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChimeEmulator } from '../emulator';
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

export interface StackState {
  readonly tenants: readonly DemoTenant[];
  readonly summary: readonly TenantSummary[];
  readonly resumedRuns: readonly ResumedRun[];
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
  if (tenants.length > 0 && options.workDir) await writePolicies(options.workDir, tenants);
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
  return { tenants, summary, resumedRuns };
}

function regionOf(appInstanceArn: string): string {
  return parseAppInstanceArn(appInstanceArn)?.region ?? 'unknown';
}

async function writePolicies(workDir: string, tenants: readonly DemoTenant[]): Promise<void> {
  const dir = path.join(workDir, 'policies');
  await mkdir(dir, { recursive: true });
  for (const tenant of tenants) {
    await writeFile(
      path.join(dir, `${tenant.tenantId}.json`),
      `${JSON.stringify(tenant.document, null, 2)}\n`,
    );
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
