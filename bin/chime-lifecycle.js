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
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
