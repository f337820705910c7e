/**
 * `npm run bench [-- suite...]`: runs the benchmark suites and prints each as a Markdown table (figure,
 * same-run baseline, ratio, goal). Paste the output into BENCHMARKS.md with the command that produced it.
 */
import os from 'node:os';
import { type BenchSection, machineBound, meetsGoal, renderSection } from './lib';

type Suite = () => Promise<BenchSection | readonly BenchSection[]>;

const suites: Record<string, () => Promise<Suite>> = {
  emulator: async () => (await import('./emulator')).run,
  sync: async () => (await import('./sync/index')).run,
  onboarding: async () => (await import('./onboarding/index')).run,
  deployed: async () => (await import('./deployed/index')).run,
  renewal: async () => (await import('./renewal')).run,
  cli: async () => (await import('./cli')).run,
  cost: async () => (await import('./cost/index')).run,
  latency: async () => (await import('./latency/index')).run,
};

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const unknown = wanted.filter((name) => !(name in suites));
  if (unknown.length > 0) {
    console.error(`unknown suite(s): ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`);
    return 2;
  }
  const names = wanted.length > 0 ? wanted : Object.keys(suites);
  console.log(
    `# chime-lifecycle benchmarks — ${new Date().toISOString()} — node ${process.version}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  );
  console.log(`command: npm run bench${wanted.length > 0 ? ` -- ${wanted.join(' ')}` : ''}\n`);
  let missed = 0;
  let unjudged = 0;
  for (const name of names) {
    const started = Date.now();
    const run = await (suites[name] as () => Promise<Suite>)();
    const result = await run();
    for (const section of Array.isArray(result) ? result : [result as BenchSection]) {
      console.log(renderSection(section));
      missed += section.rows.filter((row: BenchSection['rows'][number]) => meetsGoal(row) === false).length;
      unjudged += section.rows.filter(
        (row: BenchSection['rows'][number]) => row.goal && machineBound(row),
      ).length;
    }
    console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  const notJudged =
    unjudged > 0
      ? `; ${unjudged} goal(s) not judged: machine-bound (the quota is over half this machine's ceiling)`
      : '';
  console.log(`${missed === 0 ? 'every judged goal met' : `${missed} goal(s) missed`}${notJudged}`);
  return 0;
}

process.exitCode = await main();
