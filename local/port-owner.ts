import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A process listening on a port, as far as this machine lets us see it. */
export interface PortHolder {
  readonly pid: number;
  /** Its command line, shortened; empty when unreadable. */
  readonly command: string;
}

/** The service a port belongs to, and the `local start` flag that moves it. */
export interface PortClaim {
  readonly service: string;
  readonly port: number;
  readonly flag: string;
}

/** A port another process holds: the message names the port, the holder when known, and the flag. */
export class PortInUseError extends Error {
  constructor(
    readonly claim: PortClaim,
    readonly holders: readonly PortHolder[],
  ) {
    super(describePortInUse(claim, holders));
    this.name = 'PortInUseError';
  }
}

export function describePortInUse(claim: PortClaim, holders: readonly PortHolder[]): string {
  const by =
    holders.length === 0
      ? 'another process (which one could not be found out)'
      : holders
          .map((holder) => `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}`)
          .join(', ');
  return (
    `port ${claim.port} for ${claim.service} is already in use by ${by}; ` +
    `stop it or pick another port with ${claim.flag} <port>`
  );
}

/**
 * Whether `port` can be bound on `host` right now: a real bind (then released), which is the only test that
 * agrees with what the service itself will meet. A listener on the wildcard address makes a loopback bind
 * fail on Linux too, so both kinds of holder are found.
 */
export function canBind(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      // An address family this machine does not have (no IPv6) cannot hold anything.
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') resolve(true);
      else reject(error);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Refuses, before anything starts, when any of the ports is taken. Checks them all so one message names every clash. */
export async function assertPortsFree(claims: readonly PortClaim[], hosts: readonly string[]): Promise<void> {
  const taken: PortInUseError[] = [];
  for (const claim of claims) {
    if (claim.port === 0) continue;
    let free = true;
    for (const host of hosts) free = free && (await canBind(claim.port, host));
    if (!free) taken.push(new PortInUseError(claim, await portHolders(claim.port)));
  }
  if (taken.length === 1) throw taken[0];
  if (taken.length > 1) {
    throw new PortsInUseError(taken);
  }
}

export class PortsInUseError extends Error {
  constructor(readonly clashes: readonly PortInUseError[]) {
    // One line, like every CLI error: each clash keeps its own port, holder and flag.
    super(clashes.map((clash) => clash.message).join('; and '));
    this.name = 'PortsInUseError';
  }
}

/**
 * The processes listening on a TCP port, found the way `ss -p` does it on Linux: the listening sockets of
 * /proc/net/tcp{,6} give inodes, and a process's /proc/<pid>/fd links name the inodes it holds. Best effort:
 * another user's processes are not readable, and other systems have no /proc, so this may return nothing.
 */
export async function portHolders(port: number): Promise<PortHolder[]> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      // State 0A is LISTEN.
      if (!local || fields[3] !== '0A') continue;
      const localPort = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (localPort === port && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        holders.push({ pid: Number(pid), command: await commandLine(Number(pid)) });
        break;
      }
    }
  }
  return holders;
}

/** A process's command line, shortened to what identifies it. */
export async function commandLine(pid: number): Promise<string> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const text = raw.split('\0').filter(Boolean).join(' ');
    return text.length > 100 ? `${text.slice(0, 97)}...` : text;
  } catch {
    return '';
  }
}
