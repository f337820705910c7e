#!/usr/bin/env node
// The CLI is written in TypeScript; tsx's loader runs it without a build step so `npx chime-lifecycle`
// works straight after `npm ci --ignore-scripts`.
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
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
