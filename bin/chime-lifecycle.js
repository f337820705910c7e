#!/usr/bin/env node
// The CLI's entry: runs the JavaScript bundle of cli/main.ts, building it first when it is missing or any of
// its sources changed (bin/cli-build.js says how, and why it is built here). No TypeScript loader is needed,
// so `npx chime-lifecycle --version` answers in the time Node takes to start, and `npx chime-lifecycle` works
// straight after `npm ci --ignore-scripts`.
import module from 'node:module';
import { pathToFileURL } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `chime-lifecycle: needs Node.js 22 or newer, this is ${process.version}. Run it through npm or npx ` +
      '(`npx chime-lifecycle ...`, `npm start`): the project ships Node 22 as a devDependency.\n',
  );
  process.exit(1);
}
// fauxqs (the local SQS) imports node:sqlite, and Node 22 announces that with an ExperimentalWarning on
// every `npm start`. It is noise to an operator; every other warning is still printed as Node would.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'ExperimentalWarning' && /SQLite/i.test(warning.message)) return;
  process.stderr.write(`(node:${process.pid}) ${warning.name}: ${warning.message}\n`);
});
// Stack traces name the TypeScript sources (through the bundle's source maps) when they are printed.
if (process.argv.includes('--debug') || process.env.CHIME_LIFECYCLE_DEBUG === '1') {
  process.setSourceMapsEnabled(true);
}

const { buildCli, CliBuildError, compileCacheDir, freshEntry } = await import('./cli-build.js');
let entry = freshEntry();
if (entry === null) {
  try {
    entry = await buildCli();
  } catch (error) {
    if (!(error instanceof CliBuildError)) throw error;
    process.stderr.write(`chime-lifecycle: ${error.message}\n`);
    process.exit(1);
  }
}
// V8 keeps the bundle's compiled code between runs (keyed by content, so an edit never reuses old code).
module.enableCompileCache?.(compileCacheDir());
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv);
