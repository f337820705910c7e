import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { CreateAppInstanceCommand } from '@aws-sdk/client-chime-sdk-identity';
import { describe, expect, it } from 'vitest';
import { chimeClient } from './helpers';

const BIN = 'bin/chime-lifecycle.js';

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('chime-lifecycle emulator', () => {
  it('prints the URL first, then the export hint, serves the SDK, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--quota-scale', '2'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    const reader = createInterface({ input: child.stdout });
    await new Promise<void>((resolve) => {
      reader.on('line', (line) => {
        lines.push(line);
        if (lines.length === 2) resolve();
      });
    });
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(lines[0] ?? '')?.[0];
    expect(lines[0]).toMatch(/^Chime SDK Identity emulator listening on http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines[1]).toBe(`export AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY=${url}`);

    const client = chimeClient(url as string);
    const created = await client.send(new CreateAppInstanceCommand({ Name: 'from-cli' }));
    expect(created.AppInstanceArn).toMatch(/^arn:aws:chime:us-east-1:111122223333:app-instance\//);
    client.destroy();

    const exitCode = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exitCode).toBe(0);
  });

  it.each([
    [['--port', '65536'], '--port'],
    [['--port', '1.5'], '--port'],
    [['--quota-scale', '0'], '--quota-scale'],
    [['--quota-scale', 'fast'], '--quota-scale'],
    [['--quota-scale', '2', '--no-quotas'], '--no-quotas'],
    [['--expiry-delay-seconds', '-5'], '--expiry-delay-seconds'],
  ])('rejects %j with exit code 2 naming the flag', async (args, flag) => {
    const result = await run(['emulator', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(flag);
    expect(result.stdout).toBe('');
  });

  it('refuses a port another process holds, naming the port, the holder and the flag', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const result = await run(['emulator', '--port', String(port)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `port ${port} for the emulator is already in use by pid ${process.pid} (`,
      );
      expect(result.stderr).toContain('pick another port with --port <port>');
      expect(result.stdout).toBe('');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
