import type { Command } from 'commander';
import { ensureTables } from '../../shared/aws/tables';
import { printJson } from '../output';
import { withRuntime } from '../with-runtime';

export function register(program: Command): void {
  const local = program.command('local').description('set up and run the offline system');
  local
    .command('init')
    .description('create the tables and queues on the configured endpoints (idempotent)')
    .option('--json', 'print machine-readable output')
    .action(async (options: { json?: boolean }) => {
      await withRuntime(async (runtime) => {
        const tables = await ensureTables(runtime.dynamo, runtime.config);
        if (options.json) {
          printJson({ tables });
          return;
        }
        for (const table of tables) {
          console.log(`table ${table.tableName}: ${table.created ? 'created' : 'already exists'}`);
        }
      });
    });
}
