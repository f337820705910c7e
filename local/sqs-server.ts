import type { BuildAppOptions } from 'fauxqs';
import { createFairQueues, type FairQueuesOptions } from './sqs-fair-queues';

/**
 * fauxqs, loaded without its one startup warning. Its optional persistence module imports `node:sqlite` at
 * load, and Node 22 then prints "ExperimentalWarning: SQLite is an experimental feature" on every
 * `npm start`, although we never use that persistence. Only that warning is dropped, only during this import;
 * every other warning passes through.
 */
async function loadFauxqs(): Promise<typeof import('fauxqs')> {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'ExperimentalWarning' && /SQLite/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await import('fauxqs');
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** What the send hook reads of fauxqs's Fastify request and uses of its reply. */
interface HookRequest {
  readonly headers: Readonly<Record<string, unknown>>;
  readonly body: unknown;
}
interface HookReply {
  status(code: number): HookReply;
  header(name: string, value: string): HookReply;
  send(payload: unknown): HookReply;
}

export interface SqsServer {
  /** The endpoint to give SQS clients, e.g. `http://127.0.0.1:4566` (set it as `AWS_ENDPOINT_URL_SQS`). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface SqsServerOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** The interface to listen on; loopback by default so the emulator is not reachable from the network. */
  readonly host?: string;
  /** The fair queues' thresholds and clock: AWS's (sqs-fair-policy.ts) by default; tests shorten windows. */
  readonly fairQueues?: FairQueuesOptions;
}

/**
 * Runs fauxqs (an in-memory SQS emulator speaking the JSON protocol of SDK v3) inside this process, with
 * fair queues: a standard queue whose messages carry a MessageGroupId delivers as AWS's fair queues do
 * (local/sqs-fair-queues.ts; the rules and thresholds in local/sqs-fair-policy.ts).
 *
 * We build fauxqs's Fastify app ourselves instead of calling `startFauxqs`, because `startFauxqs` always
 * listens on 0.0.0.0 (every interface); here the caller chooses, and loopback is the default.
 *
 * fauxqs hands out queue URLs of the form `http://sqs.<region>.localhost:<port>/000000000000/<name>`, and
 * `sqs.<region>.localhost` does not resolve on this machine. That is harmless as long as requests go to
 * the configured endpoint rather than to the QueueUrl's host: fauxqs finds a queue by the region and name
 * in the URL, whatever host it names. SDK v3 clients made by `createSqsClient()` (shared/aws/queues.ts)
 * turn off `useQueueUrlAsEndpoint` whenever an endpoint is configured, which is what makes that true.
 */
export async function startSqsServer(options: SqsServerOptions = {}): Promise<SqsServer> {
  const host = options.host ?? '127.0.0.1';
  const { buildApp } = await loadFauxqs();
  const fair = await createFairQueues(options.fairQueues);
  // fauxqs builds a store of each kind it is not given (`stores?.snsStore ?? new SnsStore()`, one by one),
  // so the SQS store alone is passed, although the option's type names all three.
  const app = buildApp({
    logger: false,
    stores: { sqsStore: fair.store } as NonNullable<BuildAppOptions['stores']>,
  });
  // Before fauxqs handles a request: a send's group ids are read (and an invalid one refused) first.
  app.addHook('preHandler', async (request: HookRequest, reply: HookReply) => {
    const problem = fair.tagSend(request.headers['x-amz-target'], request.body);
    if (!problem) return;
    return reply
      .status(400)
      .header('content-type', 'application/x-amz-json-1.0')
      .header('x-amzn-query-error', `AWS.SimpleQueueService.${problem.code};Sender`)
      .send({ __type: `com.amazonaws.sqs#${problem.code}`, message: problem.message });
  });
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  if (!address || typeof address === 'string') {
    await app.close();
    throw new Error('fauxqs did not report a TCP address after listening');
  }
  const urlHost = clientHost(address.address, address.family);
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    // Idempotent: test teardowns and process shutdown hooks may both close it.
    close: () => {
      const pending = closing ?? app.close().then(() => undefined);
      closing = pending;
      return pending;
    },
  };
}

/** The host a local client should connect to; a wildcard listen address is reached through loopback. */
function clientHost(listenAddress: string, family: string): string {
  if (listenAddress === '0.0.0.0') return '127.0.0.1';
  if (listenAddress === '::') return '[::1]';
  return family === 'IPv6' ? `[${listenAddress}]` : listenAddress;
}
