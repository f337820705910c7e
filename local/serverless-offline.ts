import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import type { ChildExit } from './dynamodb-local';
import { PortInUseError, portHolders } from './port-owner';

export interface ServerlessOffline {
  /** The Lambda Invoke API of serverless-offline. */
  readonly url: string;
  /**
   * Invokes a function of the `local` stage synchronously and returns its parsed result. serverless offline
   * answers 504 at the function's timeout; the request itself is given up on a little later.
   */
  invoke(functionName: string, event: unknown, timeoutMs: number): Promise<unknown>;
  /** Its process (the leader of its group). */
  readonly pid: number;
  /** Resolves when its process ends, for whatever reason (stop() included). */
  readonly exited: Promise<ChildExit>;
  stop(): Promise<void>;
}

export interface ServerlessOfflineOptions {
  readonly lambdaPort: number;
  /** The environment of the functions: the local endpoints and names (see local/environment.ts). */
  readonly env: Record<string, string>;
  readonly cwd?: string;
  readonly startTimeoutMs?: number;
  readonly onOutput?: (line: string) => void;
  /** Called with its pid (the leader of its process group) as soon as it is spawned. */
  readonly onSpawn?: (pid: number) => void | Promise<void>;
}

const ROOT = path.join(import.meta.dirname, '..');

/** How long after the function's timeout an invocation request is given up on, if serverless offline is mute. */
const INVOKE_GRACE_MS = 5_000;

/**
 * One Invoke request. Not fetch: undici gives up on a response after 300 s (its headersTimeout), while a
 * reconcile step may run 900 s; node:http waits as long as the signal allows.
 */
function postInvocation(
  target: URL,
  body: string,
  signal: AbortSignal,
): Promise<{ status: number; functionError: string | undefined; payload: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      target,
      {
        method: 'POST',
        signal,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-amz-invocation-type': 'RequestResponse',
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const header = response.headers['x-amz-function-error'];
          resolve({
            status: response.statusCode ?? 0,
            functionError: Array.isArray(header) ? header[0] : header,
            payload: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * Runs `serverless offline start --stage local`: the functions as serverless.ts builds them from their
 * declarations (esbuild bundles, handlers, timeouts, environment), behind Lambda's Invoke API. Its own
 * SQS/stream plugins are not used: serverless-offline-sqs ignores ReportBatchItemFailures, so the local
 * stack's faithful event-source runners deliver SQS batches and stream records through this API instead, as
 * Lambda's pollers do.
 */
export async function startServerlessOffline(options: ServerlessOfflineOptions): Promise<ServerlessOffline> {
  const bin = path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, 'offline', 'start', '--stage', 'local', '--lambdaPort', String(options.lambdaPort)],
    {
      cwd: options.cwd ?? ROOT,
      env: {
        ...process.env,
        ...options.env,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so stopping it also stops the workers it starts. Being outside the stack's
      // group, it would outlive a stack killed with SIGKILL: the stack's reaper (local/reaper.js) stops it then.
      detached: true,
    },
  );
  if (child.pid !== undefined) await options.onSpawn?.(child.pid);
  const exited = new Promise<ChildExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    for (const line of text.split('\n')) if (line.trim()) options.onOutput?.(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const stop = async () => {
    if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };

  const ready = `listening on http://localhost:${options.lambdaPort}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  while (!output.includes(ready)) {
    // Stopped by a signal (a Ctrl-C during start-up stops its group), it has a signalCode and no exitCode.
    if (child.exitCode !== null || child.signalCode !== null) {
      if (output.includes('EADDRINUSE')) {
        throw new PortInUseError(
          { service: 'serverless offline (Lambda API)', port: options.lambdaPort, flag: '--lambda-port' },
          await portHolders(options.lambdaPort),
        );
      }
      throw new Error(`serverless offline exited during start-up:\n${output.slice(-4000)}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`serverless offline did not start within the timeout:\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const url = `http://localhost:${options.lambdaPort}`;
  return {
    url,
    pid: child.pid as number,
    exited,
    stop,
    invoke: async (functionName, event, timeoutMs) => {
      const { status, functionError, payload } = await postInvocation(
        new URL(`/2015-03-31/functions/chime-lifecycle-local-${functionName}/invocations`, url),
        JSON.stringify(event),
        AbortSignal.timeout(timeoutMs + INVOKE_GRACE_MS),
      );
      if (status !== 200 || functionError) {
        throw new Error(`${functionName} failed (${functionError ?? status}): ${payload.slice(0, 1000)}`);
      }
      return payload ? (JSON.parse(payload) as unknown) : undefined;
    },
  };
}
