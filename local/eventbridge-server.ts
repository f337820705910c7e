import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backoff } from '../shared/backoff';
import {
  type DeliveryCounts,
  type DeliveryFailureReport,
  type LocalRule,
  type ReceivedEvent,
  RuleRouter,
} from './eventbridge-rules';

export {
  DEFAULT_RULE_RETRY_POLICY,
  type DeliveryCounts,
  type DeliveryFailure,
  type DeliveryFailureReport,
  describeDeliveryFailure,
  type EventEnvelope,
  type LocalRule,
  type ReceivedEvent,
  type RuleRetryPolicy,
} from './eventbridge-rules';

export interface LocalEventBridge {
  readonly url: string;
  readonly events: readonly ReceivedEvent[];
  /** Fraction (0..1) of entries to reject with ThrottlingException, to exercise the publisher's retries. */
  setFailureRate(rate: number): void;
  /** Adds a rule; throws with the pattern's problems when EventBridge would refuse it. */
  addRule(rule: LocalRule): void;
  /** Resolves once every delivery started so far has ended: delivered, or given up on and reported. */
  idle(): Promise<void>;
  /** Per rule name: events delivered, failed attempts retried, events given up on, and of those kept. */
  deliveries(): Record<string, DeliveryCounts>;
  clear(): void;
  close(): Promise<void>;
}

export interface LocalEventBridgeOptions {
  readonly port?: number;
  readonly host?: string;
  readonly onEvent?: (event: ReceivedEvent) => void;
  readonly rules?: readonly LocalRule[];
  /**
   * Told once per event a rule gave up on (its retries spent, or the server closing), after the rule's
   * dead-letter queue took it or failed to; without it, one line on stderr says so.
   */
  readonly onDeliveryFailed?: (report: DeliveryFailureReport) => void;
  /** The wait before each retry of a failed delivery, in ms (default 1 s doubling to 1 min, equal jitter). */
  readonly retryBackoff?: Backoff;
  readonly region?: string;
  readonly accountId?: string;
}

const MAX_BODY_BYTES = 1024 * 1024;

type EntryResult =
  | { readonly event: ReceivedEvent }
  | { readonly ErrorCode: string; readonly ErrorMessage: string };

/** One PutEvents entry as EventBridge takes it, or the error code it answers for it. */
function acceptEntry(
  raw: Record<string, unknown>,
  buses: ReadonlySet<string>,
  failureRate: number,
): EntryResult {
  const busName =
    String(raw.EventBusName ?? 'default')
      .split('/')
      .pop() ?? 'default';
  if (!buses.has(busName)) {
    return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
  }
  if (
    typeof raw.Source !== 'string' ||
    typeof raw.DetailType !== 'string' ||
    typeof raw.Detail !== 'string'
  ) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Source, DetailType and Detail are required' };
  }
  let detail: unknown;
  try {
    detail = JSON.parse(raw.Detail);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not valid JSON' };
  }
  if (Math.random() < failureRate) {
    return { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded (injected)' };
  }
  // The SDK sends Time as epoch seconds; a hand-written request may send an ISO string.
  const time =
    typeof raw.Time === 'number'
      ? raw.Time * 1000
      : typeof raw.Time === 'string' && !Number.isNaN(Date.parse(raw.Time))
        ? Date.parse(raw.Time)
        : undefined;
  const resources = Array.isArray(raw.Resources)
    ? raw.Resources.filter((item): item is string => typeof item === 'string')
    : [];
  return {
    event: {
      id: randomUUID(),
      time: new Date(time ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventBusName: busName,
      source: raw.Source,
      detailType: raw.DetailType,
      detail,
      ...(resources.length > 0 ? { resources } : {}),
    },
  };
}

/** CreateEventBus and DescribeEventBus. */
function busOperation(
  target: string,
  body: Record<string, unknown>,
  buses: Set<string>,
  response: ServerResponse,
) {
  if (target === 'AWSEvents.CreateEventBus') {
    const name = String(body.Name ?? '');
    if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name))
      return awsError(response, 400, 'ValidationException', 'Name is invalid');
    if (buses.has(name))
      return awsError(response, 400, 'ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    buses.add(name);
    return send(response, 200, { EventBusArn: `arn:aws:events:us-east-1:000000000000:event-bus/${name}` });
  }
  const name = String(body.Name ?? 'default');
  if (!buses.has(name))
    return awsError(response, 400, 'ResourceNotFoundException', `Event bus ${name} does not exist.`);
  return send(response, 200, { Name: name, Arn: `arn:aws:events:us-east-1:000000000000:event-bus/${name}` });
}

/**
 * A small local EventBridge for the offline stack and the tests: PutEvents (AWS JSON 1.1, what SDK v3 speaks),
 * CreateEventBus and DescribeEventBus, keeping every event so tests can read what the system published
 * (`GET /_events`), and routing events to the targets of rules whose patterns match them (local/event-pattern.ts),
 * so the offline stack can deliver Chime's CloudTrail events to user-removed the way the default bus does.
 */
export async function startLocalEventBridge(
  options: LocalEventBridgeOptions = {},
): Promise<LocalEventBridge> {
  const events: ReceivedEvent[] = [];
  const buses = new Set<string>(['default']);
  let failureRate = 0;
  const router = new RuleRouter({
    region: options.region ?? 'us-east-1',
    account: options.accountId ?? '000000000000',
    ...(options.retryBackoff ? { retryBackoff: options.retryBackoff } : {}),
    ...(options.onDeliveryFailed ? { onDeliveryFailed: options.onDeliveryFailed } : {}),
  });
  for (const rule of options.rules ?? []) router.add(rule);

  const putEvents = (body: Record<string, unknown>, response: ServerResponse) => {
    const entries = body.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
      return awsError(response, 400, 'ValidationException', 'Entries must hold 1 to 10 entries');
    }
    const results = entries.map((raw: Record<string, unknown>) => {
      const accepted = acceptEntry(raw, buses, failureRate);
      if (!('event' in accepted)) return accepted;
      events.push(accepted.event);
      options.onEvent?.(accepted.event);
      router.route(accepted.event);
      return { EventId: accepted.event.id };
    });
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    return send(response, 200, { FailedEntryCount: failed, Entries: results });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'GET' && url.pathname === '/_events') {
      return send(response, 200, { events });
    }
    if (request.method === 'POST' && url.pathname === '/_events/reset') {
      events.length = 0;
      return send(response, 200, {});
    }
    const target = String(request.headers['x-amz-target'] ?? '');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(request)) as Record<string, unknown>;
    } catch (error) {
      return awsError(
        response,
        400,
        'ValidationException',
        `request body is not valid JSON: ${(error as Error).message}`,
      );
    }
    if (target === 'AWSEvents.PutEvents') return putEvents(body, response);
    if (target === 'AWSEvents.CreateEventBus' || target === 'AWSEvents.DescribeEventBus') {
      return busOperation(target, body, buses, response);
    }
    return awsError(
      response,
      400,
      'UnknownOperationException',
      `operation ${target || '(none)'} is not supported here`,
    );
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) =>
      awsError(response, 500, 'InternalException', error instanceof Error ? error.message : String(error)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    events,
    setFailureRate: (rate) => {
      failureRate = rate;
    },
    addRule: (rule) => router.add(rule),
    idle: () => router.idle(),
    deliveries: () => structuredClone(router.counts),
    clear: () => {
      events.length = 0;
    },
    close: async () => {
      // Retries still waiting are given up on (reported, dead-lettered), never dropped in silence.
      await router.stop();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8') || '{}'));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function awsError(response: ServerResponse, status: number, type: string, message: string): void {
  if (response.headersSent) return;
  send(response, status, { __type: type, message });
}
