import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';

/** A process this start launched, recorded so a later start can find it if this one dies without cleaning up. */
export interface RecordedProcess {
  readonly name: string;
  readonly pid: number;
  /** True when it leads its own process group (killed as a group). */
  readonly group: boolean;
  /** /proc start time, so a recycled pid is never mistaken for it; absent where /proc is not available. */
  readonly startTime?: string;
}

interface InstanceFile {
  readonly pid: number;
  readonly startTime?: string;
  readonly startedAt: string;
  readonly ports: Record<string, number>;
  readonly children: RecordedProcess[];
}

/** Another `local start` is running with this work directory. */
export class AlreadyRunningError extends Error {
  constructor(
    readonly pid: number,
    readonly file: string,
  ) {
    super(
      `the offline system is already running (pid ${pid}, recorded in ${file}); ` +
        `stop it first (Ctrl-C in its terminal, or kill ${pid})`,
    );
    this.name = 'AlreadyRunningError';
  }
}

export interface Leftover extends RecordedProcess {
  /** What was done about it. */
  readonly outcome: 'stopped' | 'could not be stopped';
}

export interface Instance {
  readonly file: string;
  /** An earlier start that ended without stopping (killed): its pid file was still there. */
  readonly stale: { readonly pid: number; readonly startedAt: string } | undefined;
  /** What that earlier start left running, found and stopped by this one (its reaper usually got there first). */
  readonly leftovers: readonly Leftover[];
  /**
   * Records a child process: in the pid file (written at once, so a SIGKILL a moment later still leaves it
   * findable) and with the reaper, which stops it if this process dies without stopping it.
   */
  addChild(child: Omit<RecordedProcess, 'startTime'>): Promise<void>;
  /**
   * Stops every child recorded so far that still runs (SIGTERM to it or its group, SIGKILL after 3 s) and
   * waits until each is gone: for a start interrupted before the stack could stop them in order.
   */
  stopChildren(): Promise<Leftover[]>;
  /** After the children were stopped: lets the reaper go and removes the pid file. The clean end of a start. */
  release(): Promise<void>;
}

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), or undefined where unknown. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether the recorded process still runs (the same one, not a recycled pid). */
export async function stillRunning(recorded: { pid: number; startTime?: string }): Promise<boolean> {
  try {
    process.kill(recorded.pid, 0);
  } catch {
    // ESRCH: gone. EPERM: the pid now belongs to another user's process, so it is not ours either.
    return false;
  }
  if (recorded.startTime === undefined) return true;
  return (await processStartTime(recorded.pid)) === recorded.startTime;
}

function signal(recorded: RecordedProcess, name: NodeJS.Signals): void {
  try {
    process.kill(recorded.group ? -recorded.pid : recorded.pid, name);
  } catch {
    // Already gone.
  }
}

async function stopLeftover(recorded: RecordedProcess): Promise<Leftover> {
  signal(recorded, 'SIGTERM');
  for (let waited = 0; waited < 3_000; waited += 100) {
    if (!(await stillRunning(recorded))) return { ...recorded, outcome: 'stopped' };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signal(recorded, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { ...recorded, outcome: (await stillRunning(recorded)) ? 'could not be stopped' : 'stopped' };
}

/**
 * Claims the work directory for this start through a pid file (`<workDir>/stack.pid`). A live earlier start
 * is refused (AlreadyRunningError) before anything is touched; the children of a dead one (a `kill -9` of the
 * stack) are stopped and reported, so their ports are free again.
 */
export async function claimInstance(workDir: string, ports: Record<string, number>): Promise<Instance> {
  await mkdir(workDir, { recursive: true });
  const file = path.join(workDir, 'stack.pid');
  const leftovers: Leftover[] = [];
  const previous = await readInstanceFile(file);
  let stale: Instance['stale'];
  if (previous) {
    if (previous.pid !== process.pid && (await stillRunning(previous))) {
      throw new AlreadyRunningError(previous.pid, file);
    }
    stale = { pid: previous.pid, startedAt: String(previous.startedAt) };
    for (const child of previous.children) {
      if (await stillRunning(child)) leftovers.push(await stopLeftover(child));
    }
    const stuck = leftovers.filter((leftover) => leftover.outcome !== 'stopped');
    if (stuck.length > 0) {
      throw new Error(
        `an earlier start left ${stuck.map((s) => `${s.name} (pid ${s.pid})`).join(', ')} running and ` +
          'they could not be stopped; stop them by hand',
      );
    }
  }
  const own: InstanceFile = {
    pid: process.pid,
    ...withStartTime(await processStartTime(process.pid)),
    startedAt: new Date().toISOString(),
    ports,
    children: [],
  };
  const write = async () => {
    // Atomic (write then rename), so a start killed mid-write never leaves half a file.
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(own, null, 2)}\n`);
    await rename(temporary, file);
  };
  await write();
  const reaper = startReaper();
  return {
    file,
    stale,
    leftovers,
    addChild: async (child) => {
      const recorded = { ...child, ...withStartTime(await processStartTime(child.pid)) };
      own.children.push(recorded);
      reaper.stdin?.write(`${JSON.stringify(recorded)}\n`);
      await write();
    },
    stopChildren: async () => {
      const running: RecordedProcess[] = [];
      for (const child of own.children) if (await stillRunning(child)) running.push(child);
      return Promise.all(running.map(stopLeftover));
    },
    release: async () => {
      if (reaper.exitCode === null) {
        const gone = new Promise((resolve) => reaper.once('exit', resolve));
        // Referenced again while we wait for it, or an otherwise idle process would exit before it answers.
        reaper.ref();
        reaper.stdin?.end(`${JSON.stringify({ release: true })}\n`);
        await gone;
      }
      const current = await readInstanceFile(file);
      if (current?.pid === process.pid) await rm(file, { force: true });
    },
  };
}

/**
 * Starts local/reaper.js in its own session, with a pipe only this process writes to: when this process
 * ends, however it ends, the pipe closes and the reaper stops the children it was told about. Unreferenced,
 * so it never keeps this process alive.
 */
function startReaper(): ChildProcess {
  const reaper = spawn(process.execPath, [path.join(import.meta.dirname, 'reaper.js')], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  reaper.unref();
  (reaper.stdin as Socket | null)?.unref();
  return reaper;
}

function withStartTime(startTime: string | undefined): { startTime?: string } {
  return startTime === undefined ? {} : { startTime };
}

async function readInstanceFile(file: string): Promise<InstanceFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<InstanceFile>;
    if (typeof parsed.pid !== 'number' || !Array.isArray(parsed.children)) return undefined;
    return parsed as InstanceFile;
  } catch {
    // A file that does not parse was not written by a start (writes are atomic): nothing to act on.
    return undefined;
  }
}
