// The reaper of `chime-lifecycle local start`: a tiny watchdog that makes the stack's children die with it.
//
// It runs in its own session (so a kill of the stack's process group does not reach it) and reads the
// children to watch from its stdin, one JSON line each: {"pid": n, "group": bool, "startTime": "..."}.
// The stack holds the only write end of that pipe, so the pipe closes whenever the stack ends, however it
// ends: SIGKILL included, which no handler inside the stack can catch. A line {"release": true} first means
// the stack stopped its children itself. Otherwise, at end of input, the reaper stops every child still
// running (SIGTERM, then SIGKILL after 3 s) and exits.
//
// Plain JavaScript on Node built-ins: it starts in a few milliseconds, without the TypeScript loader.
import { readFileSync } from 'node:fs';

const watched = [];
let released = false;
let pending = '';

function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function running(child) {
  try {
    process.kill(child.pid, 0);
  } catch {
    return false;
  }
  // A pid recycled by an unrelated process since it was recorded is not ours to signal.
  return child.startTime === undefined || startTime(child.pid) === child.startTime;
}

function signal(child, name) {
  try {
    process.kill(child.group ? -child.pid : child.pid, name);
  } catch {
    // Already gone.
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let newline = pending.indexOf('\n');
  while (newline >= 0) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    newline = pending.indexOf('\n');
    try {
      const message = JSON.parse(line);
      if (message.release === true) released = true;
      else if (Number.isInteger(message.pid) && message.pid > 0) watched.push(message);
    } catch {
      // Only the stack writes here; a line it did not write is ignored.
    }
  }
});
process.stdin.on('end', () => {
  if (released) process.exit(0);
  const alive = watched.filter(running);
  for (const child of alive) signal(child, 'SIGTERM');
  setTimeout(() => {
    for (const child of alive.filter(running)) signal(child, 'SIGKILL');
    process.exit(0);
  }, 3_000);
});
