import type { Context, SQSEvent } from 'aws-lambda';
import type { ChildExit } from './dynamodb-local';
import { type SqsEventHandler, withTimeout } from './event-source-runner';
import { startServerlessOffline } from './serverless-offline';
import type { Stops } from './stack-services';

/**
 * The Lambda side of the local stack: every declared function, run either under serverless offline (the
 * esbuild bundles, with the environment serverless.ts gives them) or imported into this process, behind one
 * `invoke` per function; and the record of invocations in flight, so a stop can say what it interrupted.
 */

/** Invokes a function as its trigger would (the event and a Lambda context). */
export type Invoke = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalFunctions {
  readonly mode: 'serverless-offline' | 'in-process';
  /** The process running them, under serverless offline (in-process functions have none of their own). */
  readonly process?: { readonly name: string; readonly pid: number; readonly exited: Promise<ChildExit> };
  /**
   * Invokes the function as its trigger would, ended at its timeout as Lambda ends it (a HandlerTimeoutError
   * with Lambda's "Task timed out after N seconds"): whatever delivers the event then treats it as failed.
   */
  invoker(name: string, timeoutMs: number): Invoke;
  /** Stops serverless offline (in-process functions have nothing to stop). */
  stop(): Promise<void>;
}

export interface FunctionsOptions {
  readonly mode: 'serverless-offline' | 'in-process';
  readonly names: readonly string[];
  readonly lambdaPort: number;
  /** The functions' environment under serverless offline (in-process handlers read this process's). */
  readonly environment: Record<string, string>;
  readonly onChildProcess?: (child: { name: string; pid: number; group: boolean }) => Promise<void>;
  readonly onServerlessOutput?: (line: string) => void;
}

export async function loadFunctions(options: FunctionsOptions, stops: Stops): Promise<LocalFunctions> {
  if (options.mode === 'in-process') {
    // The handlers build their own Runtime from the environment at import, like a Lambda cold start.
    const handlers = new Map<string, Invoke>();
    for (const name of options.names) {
      const module = (await import(`../functions/${name}/handler.ts`)) as { handler: Invoke };
      handlers.set(name, module.handler);
    }
    return {
      mode: 'in-process',
      invoker: (name, timeoutMs) => (event, context) =>
        withTimeout(handlerOf(handlers, name)(event, context), timeoutMs, name),
      stop: async () => {},
    };
  }
  const { onChildProcess, onServerlessOutput } = options;
  const offline = await startServerlessOffline({
    lambdaPort: options.lambdaPort,
    env: {
      ...options.environment,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    ...(onServerlessOutput ? { onOutput: onServerlessOutput } : {}),
    ...(onChildProcess
      ? { onSpawn: (pid: number) => onChildProcess({ name: 'serverless offline', pid, group: true }) }
      : {}),
  });
  stops.push(() => offline.stop());
  return {
    mode: 'serverless-offline',
    process: { name: 'serverless offline', pid: offline.pid, exited: offline.exited },
    // serverless offline ends the invocation at the timeout itself (a 504); the bound here is the same.
    invoker: (name, timeoutMs) => (event) =>
      withTimeout(offline.invoke(name, event, timeoutMs), timeoutMs, name),
    stop: () => offline.stop(),
  };
}

function handlerOf(handlers: ReadonlyMap<string, Invoke>, name: string): Invoke {
  const handler = handlers.get(name);
  if (!handler) throw new Error(`function ${name} was not loaded`);
  return handler;
}

/** A handler invocation that was running when the stack was stopped. */
export interface Interrupted {
  readonly functionName: string;
  readonly tenantIds: readonly string[];
}

/** Records which SQS invocations are running, so a stop can say what it interrupted. */
export class InFlight {
  private readonly running = new Map<number, Interrupted>();
  private next = 0;

  track(functionName: string, invoke: Invoke): SqsEventHandler {
    return async (event: SQSEvent, context: Context) => {
      const id = this.next++;
      const tenantIds = tenantsOf(event.Records.map((record) => record.body));
      this.running.set(id, { functionName, tenantIds });
      try {
        return (await invoke(event, context)) as Awaited<ReturnType<SqsEventHandler>>;
      } finally {
        this.running.delete(id);
      }
    };
  }

  now(): Interrupted[] {
    return [...this.running.values()];
  }
}

/** The tenants named by the bodies of an SQS batch (tenant ids are not personal data). */
function tenantsOf(bodies: readonly string[]): string[] {
  const tenants = new Set<string>();
  for (const body of bodies) {
    try {
      const parsed = JSON.parse(body) as { tenantId?: unknown };
      if (typeof parsed.tenantId === 'string') tenants.add(parsed.tenantId);
    } catch {
      // Not JSON: the handler will dead-letter it; nothing to name here.
    }
  }
  return [...tenants];
}
