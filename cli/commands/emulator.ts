import type { Command } from 'commander';
import { startChimeEmulator } from '../../emulator/index';
import { CliError, EXIT_INVALID } from '../errors';
import { quoteInput } from '../output';
import { addCommand } from './index';

interface EmulatorFlags {
  port: string;
  host: string;
  quotaScale?: string;
  quotas: boolean;
  expiryDelaySeconds: string;
}

function invalid(message: string): CliError {
  return new CliError(message, EXIT_INVALID);
}

function parsePort(raw: string): number {
  const port = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(port) || port > 65_535) {
    throw invalid(`--port must be an integer between 0 and 65535, got ${quoteInput(raw)}`);
  }
  return port;
}

function parseNumber(flag: string, raw: string, allowZero: boolean): number {
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw invalid(
      `${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${quoteInput(raw)}`,
    );
  }
  return value;
}

/** `chime-lifecycle emulator`: runs the local Chime SDK Identity emulator until SIGINT/SIGTERM. */
export function register(program: Command): void {
  addCommand(program, 'emulator')
    .option('--port <n>', 'TCP port, 0 for a free one', '8911')
    .option('--host <address>', 'interface to bind', '127.0.0.1')
    .option('--quota-scale <k>', 'multiply every AWS API rate quota by k (> 0)')
    .option('--no-quotas', 'disable API rate quotas (no throttling)')
    .option('--expiry-delay-seconds <s>', 'delay between a user expiring and its deletion', '21600')
    .action(async (flags: EmulatorFlags) => {
      const port = parsePort(flags.port);
      if (flags.quotaScale !== undefined && !flags.quotas) {
        throw invalid('--quota-scale and --no-quotas cannot be used together');
      }
      const quotaScale =
        flags.quotaScale === undefined ? 1 : parseNumber('--quota-scale', flags.quotaScale, false);
      const expiryDelaySeconds = parseNumber('--expiry-delay-seconds', flags.expiryDelaySeconds, true);
      if (flags.host.trim() === '') throw invalid('--host must not be empty');

      let emulator: Awaited<ReturnType<typeof startChimeEmulator>>;
      try {
        emulator = await startChimeEmulator({
          port,
          host: flags.host,
          quotaScale,
          quotas: flags.quotas,
          expiryDelaySeconds,
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') {
          const { describePortInUse, portHolders } = await import('../../local/port-owner');
          throw new CliError(
            describePortInUse({ service: 'the emulator', port, flag: '--port' }, await portHolders(port)),
          );
        }
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
          throw invalid(`--host ${flags.host} is not an address of this machine`);
        }
        throw error;
      }
      const quotaNote = flags.quotas ? `quotas x${quotaScale}` : 'quotas off';
      process.stdout.write(`Chime SDK Identity emulator listening on ${emulator.url}\n`);
      process.stdout.write(`export AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY=${emulator.url}\n`);
      process.stdout.write(
        `(${quotaNote}, expiry delay ${expiryDelaySeconds}s, admin API at ${emulator.url}/_emulator/; Ctrl-C to stop)\n`,
      );

      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await emulator.close();
      process.stderr.write('emulator stopped\n');
    });
}
