/**
 * CLI benchmark (issue 21): how soon the CLI answers, as an operator runs it (`node bin/chime-lifecycle.js`,
 * a process per call, wall time from spawn to exit).
 *
 * - start-up: `--version` and `--help` against `node -e ''` in the same run, the three interleaved so load
 *   from elsewhere falls on all of them alike (goal: at most 5x the baseline);
 * - against the offline system (`chime-lifecycle local start --functions in-process`, demo data, started
 *   as a child like `npm start`): `policy list` (goal 0.5 s), `plan --tenant acme` (138 users) and, for
 *   comparison, a steady-state `sync --tenant acme`;
 * - the bundle's build (what the first start after an edit adds), into a cache folder of its own;
 * - `plan` of a 10,000-user tenant whose ledger is fresh against its steady-state `sync` (bench/cli-plan.ts).
 *
 * Knobs: CLI_BENCH_STARTS (start-up samples of each, default 15), CLI_BENCH_CALLS (samples of each stack
 * command, default 5), CLI_BENCH_SECTIONS (which to run, comma-separated: startup, stack, plan; all by
 * default), and those of bench/cli-plan.ts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { buildCli } from '../bin/cli-build.js';
import { freePort } from '../local/free-port';
import { planAgainstSteadySync } from './cli-plan';
import { type BenchRow, type BenchSection, positiveFromEnv } from './lib';

const ROOT = path.join(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'chime-lifecycle.js');
const STARTS = positiveFromEnv('CLI_BENCH_STARTS', 15);
const CALLS = positiveFromEnv('CLI_BENCH_CALLS', 5);
const DEMO_TENANTS = ['acme', 'globex', 'initech'];
const STACK_READY_MS = 180_000;

function progress(message: string): void {
  console.error(`[cli ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Runs node with these arguments; resolves with the wall time from spawn to exit. */
function timed(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const round = (ms: number) => Math.round(ms);

async function startUp(): Promise<BenchSection> {
  // The first start builds the bundle when a source changed since the last one; it is not a sample.
  await timed([BIN, '--version']);
  const cases = {
    baseline: ['-e', ''],
    version: [BIN, '--version'],
    help: [BIN, '--help'],
  } as const;
  const samples: Record<keyof typeof cases, number[]> = { baseline: [], version: [], help: [] };
  for (let round = 0; round < STARTS; round++) {
    for (const name of Object.keys(cases) as (keyof typeof cases)[]) {
      samples[name].push(await timed(cases[name]));
    }
  }
  const baseline = median(samples.baseline);
  const row = (metric: string, values: number[]): BenchRow => ({
    metric,
    value: round(median(values)),
    unit: 'ms',
    baseline: { label: "node -e ''", value: round(baseline) },
    goal: { op: '<=', value: round(5 * baseline) },
  });

  const cacheDir = await mkdtemp(path.join(tmpdir(), 'bench-cli-build-'));
  let buildMs: number;
  try {
    const started = performance.now();
    await buildCli({ cacheDir });
    buildMs = performance.now() - started;
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
  return {
    title: 'CLI start-up',
    notes: [
      `median of ${STARTS} starts each, interleaved with the baseline; wall time from spawn to exit; goal 5x the baseline of this run`,
      'after one unmeasured start, which builds the bundle when a source changed since the last one',
    ],
    rows: [
      row('chime-lifecycle --version', samples.version),
      row('chime-lifecycle --help', samples.help),
      { metric: 'bundle build (the first start after an edit adds it)', value: round(buildMs), unit: 'ms' },
    ],
  };
}

interface Stack {
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** `local start` as a child, ready once its banner is out and every demo tenant's first run has ended. */
async function startStack(workDir: string): Promise<Stack> {
  const ports = [
    ['--dynamodb-port', await freePort()],
    ['--sqs-port', await freePort()],
    ['--chime-port', await freePort()],
    ['--eventbridge-port', await freePort()],
    ['--lambda-port', await freePort()],
  ].flatMap(([flag, port]) => [String(flag), String(port)]);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      BIN,
      'local',
      'start',
      '--functions',
      'in-process',
      '--schedule-minutes',
      '0',
      '--work-dir',
      workDir,
      ...ports,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  };
  const env: NodeJS.ProcessEnv = { ...process.env };
  const finished = new Set<string>();
  const lastLines: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the local stack was not ready within ${STACK_READY_MS / 1000} s`)),
        STACK_READY_MS,
      );
      let bannerDone = false;
      const check = () => {
        if (bannerDone && DEMO_TENANTS.every((tenant) => finished.has(tenant))) {
          clearTimeout(timer);
          resolve();
        }
      };
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        lastLines.push(line);
        if (lastLines.length > 20) lastLines.shift();
        const exported = /^\s*export (\w+)=(\S*)$/.exec(line);
        if (exported) env[exported[1] as string] = exported[2];
        // One line exports the credentials pair: `export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local`.
        for (const [, key, value] of line.matchAll(/\b(AWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY))=(\S+)/g)) {
          env[key as string] = value;
        }
        const run = /^event\s+Tenant Run (?:Completed|Held) tenant=(\S+)/.exec(line);
        if (run) finished.add(run[1] as string);
        if (line.startsWith('Ctrl-C stops everything')) bannerDone = true;
        check();
      });
      child.stderr?.on('data', (chunk: Buffer) => lastLines.push(chunk.toString().trimEnd()));
      exited.then((code) =>
        reject(new Error(`local start exited early (${code}):\n${lastLines.join('\n')}`)),
      );
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { env, stop };
}

async function againstStack(): Promise<BenchSection> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'bench-cli-stack-'));
  progress('starting the offline system (local start --functions in-process, demo data)');
  const started = performance.now();
  const stack = await startStack(workDir);
  progress(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s; measuring`);
  try {
    const cli = (...args: string[]) => timed([BIN, ...args], stack.env);
    const samples = async (args: string[]) => {
      await cli(...args); // warm: the same first call as any other, but its page cache is not the point
      const values: number[] = [];
      for (let index = 0; index < CALLS; index++) values.push(await cli(...args));
      return median(values);
    };
    const list = await samples(['policy', 'list']);
    const plan = await samples(['plan', '--tenant', 'acme']);
    const sync = await samples(['sync', '--tenant', 'acme']);
    return {
      title: 'CLI against the offline system (demo data)',
      notes: [
        `median of ${CALLS} calls each after one unmeasured call; a process per call, as an operator runs them; the stack is \`chime-lifecycle local start --functions in-process\` in a child process`,
        'acme has 138 users in Chime; its sync is steady state (every user already as the policy wants)',
      ],
      rows: [
        {
          metric: 'chime-lifecycle policy list',
          value: round(list),
          unit: 'ms',
          goal: { op: '<=', value: 500 },
        },
        {
          metric: 'chime-lifecycle plan --tenant acme',
          value: round(plan),
          unit: 'ms',
          baseline: { label: 'sync --tenant acme (steady)', value: round(sync) },
        },
      ],
    };
  } finally {
    await stack.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

const SECTIONS = new Set(
  (process.env.CLI_BENCH_SECTIONS ?? 'startup,stack,plan').split(',').map((name) => name.trim()),
);

export async function run(): Promise<BenchSection[]> {
  const sections: BenchSection[] = [];
  if (SECTIONS.has('startup')) sections.push(await startUp());
  if (SECTIONS.has('stack')) sections.push(await againstStack());
  if (SECTIONS.has('plan')) sections.push(await planAgainstSteadySync());
  return sections;
}
