/**
 * Emulator benchmark: unthrottled DescribeAppInstanceUser throughput through the real SDK (keep-alive), compared
 * with a bare node:http server answering a fixed body in the same run; seeding 100k users over HTTP; and the
 * emulator process's RSS holding them. The emulator runs as a child process via the CLI, like a user would run it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BenchRow, BenchSection } from './lib';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const USERS = 100_000;
const CONCURRENCY = 32;
const LOAD_WORKERS = 2;
const WARMUP_MS = 1500;
const MEASURE_MS = 5000;

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
}

/** Starts a child process and resolves with the first `http://host:port` URL it prints. */
function startChild(args: readonly string[]): Promise<Child> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(
      () => reject(new Error(`child ${args.join(' ')} printed no URL within 30 s`)),
      30_000,
    );
    lines.on('line', (line) => {
      const url = /http:\/\/[\d.]+:\d+/.exec(line)?.[0];
      if (url) {
        clearTimeout(timer);
        resolve({ process: child, url });
      }
    });
    child.once('exit', (code) => reject(new Error(`child ${args.join(' ')} exited early with ${code}`)));
  });
}

function stopChild(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.process.exitCode !== null) return resolve();
    child.process.once('exit', () => resolve());
    child.process.kill('SIGTERM');
  });
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return kib * 1024;
}

/** CPU seconds (user + system) a process has used so far; /proc ticks are 1/100 s on Linux. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A bare node:http server answering every request with a fixed DescribeAppInstanceUser body. */
const BASELINE_SERVER = `
const body = JSON.stringify({ AppInstanceUser: {
  AppInstanceUserArn: 'arn:aws:chime:us-east-1:111122223333:app-instance/00000000-0000-0000-0000-000000000000/user/user-1',
  Name: 'User 1', Metadata: '{"tenant":"t1"}', CreatedTimestamp: 1700000000.123, LastUpdatedTimestamp: 1700000000.123,
  ExpirationSettings: { ExpirationDays: 30, ExpirationCriterion: 'CREATED_TIMESTAMP' } } });
const server = require('node:http').createServer({ keepAliveTimeout: 65000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => console.log('baseline listening on http://127.0.0.1:' + server.address().port));
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

/**
 * SDK load generator, run in worker threads so the SDK's own per-call CPU cost (SigV4, serde, middleware) is
 * spread over the cores: each worker keeps its share of the calls in flight on its own keep-alive client and
 * reports how many completed while measuring. Plain CommonJS so the worker needs no TypeScript loader.
 */
const SDK_LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
const { Agent } = require('node:http');
const load = createRequire(workerData.root + '/package.json');
const { ChimeSDKIdentityClient, DescribeAppInstanceUserCommand } = load('@aws-sdk/client-chime-sdk-identity');
const client = new ChimeSDKIdentityClient({
  endpoint: workerData.url, region: 'us-east-1', maxAttempts: 1,
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: workerData.inFlight }) },
});
let measuring = false, stop = false, completed = 0, errors = 0, next = workerData.offset;
parentPort.on('message', (message) => {
  if (message === 'measure') measuring = true;
  if (message === 'stop') { measuring = false; stop = true; parentPort.postMessage({ completed, errors }); }
});
async function loop() {
  while (!stop) {
    const arn = workerData.userArns[next++ % workerData.userArns.length];
    try { await client.send(new DescribeAppInstanceUserCommand({ AppInstanceUserArn: arn })); if (measuring) completed++; }
    catch { if (measuring) errors++; }
  }
}
Promise.all(Array.from({ length: workerData.inFlight }, loop)).then(() => { client.destroy(); process.exit(0); });
`;

/** Keeps `CONCURRENCY` Describe calls in flight over `LOAD_WORKERS` threads; returns completed calls per second. */
async function describeThroughput(
  url: string,
  userArns: readonly string[],
  serverPid: number,
): Promise<{ rps: number; errors: number; perServerCpuSecond: number }> {
  const sample = userArns.slice(0, 1000);
  const workers = Array.from(
    { length: LOAD_WORKERS },
    (_, i) =>
      new Worker(SDK_LOAD_WORKER, {
        eval: true,
        workerData: {
          root: ROOT,
          url,
          userArns: sample,
          inFlight: CONCURRENCY / LOAD_WORKERS,
          offset: i * 97,
        },
      }),
  );
  // Listen for exit from the start: a worker can exit right after its report, before a later listener exists.
  const exited = workers.map((worker) => new Promise((resolve) => worker.once('exit', resolve)));
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  for (const worker of workers) worker.postMessage('measure');
  const started = performance.now();
  const cpuBefore = cpuSeconds(serverPid);
  await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
  const reports = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<{ completed: number; errors: number }>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.postMessage('stop');
        }),
    ),
  );
  const elapsed = (performance.now() - started) / 1000;
  const serverCpu = cpuSeconds(serverPid) - cpuBefore;
  await Promise.all(exited);
  const completed = reports.reduce((sum, report) => sum + report.completed, 0);
  return {
    rps: completed / elapsed,
    errors: reports.reduce((sum, report) => sum + report.errors, 0),
    perServerCpuSecond: serverCpu > 0 ? completed / serverCpu : Number.NaN,
  };
}

/**
 * The same Describe load from a bare keep-alive node:http client (fixed SigV4-looking header, no SDK): shows
 * what the server side sustains when the SDK's own per-call cost is taken out of the client.
 */
async function rawThroughput(url: string, userArns: readonly string[]): Promise<number> {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const headers = {
    authorization: 'AWS4-HMAC-SHA256 Credential=bench/20250101/us-east-1/chime/aws4_request',
  };
  const paths = userArns.slice(0, 1000).map((arn) => `/app-instance-users/${encodeURIComponent(arn)}`);
  const get = (path: string) =>
    new Promise<void>((resolve, reject) => {
      const call = request({ hostname, port, path, agent, headers }, (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`)),
        );
      });
      call.on('error', reject);
      call.end();
    });
  let measuring = false;
  let completed = 0;
  let stop = false;
  let next = 0;
  const worker = async () => {
    while (!stop) {
      await get(paths[next++ % paths.length] as string);
      if (measuring) completed++;
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS / 2));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, MEASURE_MS / 2));
  const rps = completed / ((performance.now() - started) / 1000);
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  return rps;
}

export async function run(): Promise<BenchSection> {
  const notes: string[] = [];
  const rows: BenchRow[] = [];

  const emulator = await startChild(['bin/chime-lifecycle.js', 'emulator', '--port', '0', '--no-quotas']);
  try {
    const pid = emulator.process.pid as number;
    const idleRss = rssBytes(pid);
    const seedBody = JSON.stringify({
      appInstanceName: 'bench',
      users: Array.from({ length: USERS }, (_, i) => ({
        appInstanceUserId: `user-${i}`,
        name: `User ${i}`,
        metadata: '{"tenant":"t1"}',
        expirationDays: 30,
      })),
    });
    const seedStarted = performance.now();
    const response = await fetch(`${emulator.url}/_emulator/seed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: seedBody,
    });
    const seeded = (await response.json()) as { userArns: string[] };
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    if (response.status !== 201 || seeded.userArns.length !== USERS) {
      throw new Error(`seeding failed with HTTP ${response.status}`);
    }
    notes.push(
      `seed body ${(seedBody.length / 1024 / 1024).toFixed(1)} MiB; emulator child via \`chime-lifecycle emulator --no-quotas\`; ${CONCURRENCY} SDK calls in flight from ${LOAD_WORKERS} worker threads; ${MEASURE_MS / 1000} s after ${WARMUP_MS / 1000} s warm-up`,
    );
    rows.push({
      metric: 'seed 100k users (HTTP round trip)',
      value: seedSeconds,
      unit: 's',
      goal: { op: '<=', value: 2 },
    });
    const seededRss = rssBytes(pid);
    rows.push({
      metric: 'emulator RSS with 100k users',
      value: Math.round(seededRss / 1024 / 1024),
      unit: 'MB',
      baseline: { label: 'idle emulator', value: Math.round(idleRss / 1024 / 1024) },
      goal: { op: '<=', value: 200 },
    });

    const baselineServer = await startChild(['-e', BASELINE_SERVER]);
    let baseline: Awaited<ReturnType<typeof describeThroughput>>;
    let rawBaseline: number;
    try {
      baseline = await describeThroughput(
        baselineServer.url,
        seeded.userArns,
        baselineServer.process.pid as number,
      );
      rawBaseline = await rawThroughput(baselineServer.url, seeded.userArns);
    } finally {
      await stopChild(baselineServer);
    }
    const measured = await describeThroughput(emulator.url, seeded.userArns, pid);
    const rawMeasured = await rawThroughput(emulator.url, seeded.userArns);
    if (measured.errors > 0 || baseline.errors > 0) {
      notes.push(`errors during throughput runs: emulator ${measured.errors}, baseline ${baseline.errors}`);
    }
    rows.push({
      metric: 'DescribeAppInstanceUser throughput (SDK, keep-alive, unthrottled)',
      value: Math.round(measured.rps),
      unit: 'req/s',
      baseline: { label: 'bare node:http fixed body', value: Math.round(baseline.rps) },
      goal: { op: '>=', value: 5000 },
    });
    rows.push({
      // The SDK client is usually the bottleneck on a 2-core box; this is what one emulator core would sustain.
      metric: 'Describe calls served per emulator CPU-second (SDK run)',
      value: Math.round(measured.perServerCpuSecond),
      unit: 'req/cpu-s',
      baseline: { label: 'bare node:http fixed body', value: Math.round(baseline.perServerCpuSecond) },
      goal: { op: '>=', value: 5000 },
    });
    rows.push({
      metric: 'DescribeAppInstanceUser throughput (bare node:http client, keep-alive)',
      value: Math.round(rawMeasured),
      unit: 'req/s',
      baseline: { label: 'bare node:http fixed body', value: Math.round(rawBaseline) },
    });
    rows.push({
      metric: 'emulator RSS after the throughput runs',
      value: Math.round(rssBytes(pid) / 1024 / 1024),
      unit: 'MB',
      goal: { op: '<=', value: 200 },
    });
  } finally {
    await stopChild(emulator);
  }
  return { title: 'Chime SDK Identity emulator', notes, rows };
}
