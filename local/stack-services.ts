import path from 'node:path';
import { CreateEventBusCommand, ResourceAlreadyExistsException } from '@aws-sdk/client-eventbridge';
import { type ChimeEmulator, putEventsSink, StateFileError, startChimeEmulator } from '../emulator';
import type { FailureQueueId } from '../functions/declaration';
import { type EnsuredTable, ensureTables } from '../shared/aws/tables';
import type { Runtime } from '../shared/composition-root';
import type { Config } from '../shared/config';
import type { QueueKind } from '../shared/queue-settings';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local';
import {
  type DeliveryFailureReport,
  type LocalEventBridge,
  type ReceivedEvent,
  startLocalEventBridge,
} from './eventbridge-server';
import { ensureFailureQueues, type FailureQueue } from './failure-queues';
import { type PortClaim, PortInUseError, portHolders } from './port-owner';
import type { LOCAL_PORTS } from './ports';
import { type EnsuredQueue, ensureQueues } from './queue-provisioning';
import { type SqsServer, startSqsServer } from './sqs-server';
import { accountOfLocalAccessKey, type LocalSts, startLocalSts } from './sts-server';

/**
 * The local stand-ins of the AWS services, one by one: DynamoDB Local, the SQS server, the Chime SDK
 * Identity emulator, the local EventBridge and the local STS (started), then the tables, queues and bus the
 * stack needs in them (provisioned). A taken port is refused the way `local start` refuses it, naming the
 * flag. The emulator serves both Chime Regions at one URL and acts in the account of the local STS's role
 * credentials, so tenants in eu-central-1 and in "other accounts" work offline as on AWS.
 */

export type Stops = (() => Promise<void>)[];

export interface ServiceOptions {
  readonly host: string;
  readonly ports: Record<keyof typeof LOCAL_PORTS, number>;
  readonly quotaScale: number;
  readonly persistDir?: string;
  readonly onChildProcess?: (child: { name: string; pid: number; group: boolean }) => Promise<void>;
  readonly onEvent?: (event: ReceivedEvent) => void;
  /** Told of each event a rule gave up on (its retries spent), after its dead-letter queue took it. */
  readonly onDeliveryFailed?: (report: DeliveryFailureReport) => void;
}

export interface Services {
  readonly dynamo: DynamoDbLocal;
  readonly sqs: SqsServer;
  readonly emulator: ChimeEmulator;
  readonly eventBridge: LocalEventBridge;
  readonly sts: LocalSts;
  readonly endpoints: { dynamodb: string; sqs: string; chime: string; eventbridge: string; sts: string };
}

/** Starts the four servers, in this order; each one's stop goes onto `stops` as soon as it runs. */
export async function startServices(options: ServiceOptions, stops: Stops): Promise<Services> {
  const dynamo = await startDynamo(options);
  stops.push(() => dynamo.close());
  const sqs = await startSqsServer({ port: options.ports.sqs, host: options.host }).catch(
    async (error: Error) => {
      throw await inUse(error, { service: 'the SQS server', port: options.ports.sqs, flag: '--sqs-port' });
    },
  );
  stops.push(() => sqs.close());
  /** Set once the local EventBridge is up: the emulator's deletions go to its default bus as CloudTrail events. */
  let cloudTrail: ReturnType<typeof putEventsSink> | undefined;
  const emulator = await startChimeEmulator({
    port: options.ports.chime,
    host: options.host,
    quotaScale: options.quotaScale,
    accountOfAccessKey: accountOfLocalAccessKey,
    cloudTrailEvents: (entry) => cloudTrail?.send(entry),
    ...(options.persistDir ? { stateFile: path.join(options.persistDir, 'chime-emulator.json') } : {}),
  }).catch(async (error: Error) => {
    throw await inUse(error, {
      service: 'the Chime emulator',
      port: options.ports.chime,
      flag: '--chime-port',
    });
  });
  stops.push(() => emulator.close());
  const eventBridge = await startLocalEventBridge({
    port: options.ports.eventbridge,
    host: options.host,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.onDeliveryFailed ? { onDeliveryFailed: options.onDeliveryFailed } : {}),
  }).catch(async (error: Error) => {
    throw await inUse(error, {
      service: 'the local EventBridge',
      port: options.ports.eventbridge,
      flag: '--eventbridge-port',
    });
  });
  stops.push(() => eventBridge.close());
  cloudTrail = putEventsSink(eventBridge.url);
  const sts = await startLocalSts({ port: options.ports.sts, host: options.host }).catch(
    async (error: Error) => {
      throw await inUse(error, { service: 'the local STS', port: options.ports.sts, flag: '--sts-port' });
    },
  );
  stops.push(() => sts.close());
  const endpoints = {
    dynamodb: dynamo.url,
    sqs: sqs.url,
    chime: emulator.url,
    eventbridge: eventBridge.url,
    sts: sts.url,
  };
  return { dynamo, sqs, emulator, eventBridge, sts, endpoints };
}

function startDynamo(options: ServiceOptions): Promise<DynamoDbLocal> {
  const { persistDir, onChildProcess } = options;
  return startDynamoDbLocal({
    port: options.ports.dynamodb,
    host: options.host,
    ownProcessGroup: true,
    ...(persistDir ? { dbPath: path.join(persistDir, 'dynamodb') } : {}),
    ...(onChildProcess
      ? { onSpawn: (pid: number) => onChildProcess({ name: 'DynamoDB Local', pid, group: true }) }
      : {}),
  }).catch((error: Error) => {
    if (error instanceof PortInUseError) throw error;
    throw new Error(`DynamoDB Local on port ${options.ports.dynamodb}: ${error.message}`);
  });
}

export interface Provisioned {
  readonly tables: readonly EnsuredTable[];
  readonly queues: Record<QueueKind, EnsuredQueue>;
  /** Where the stream's and the rule's failures end (local/failure-queues.ts). */
  readonly failureQueues: Record<FailureQueueId, FailureQueue>;
}

/** The tables, queues (with their DLQs), the failure queues and the bus, as the template declares them; idempotent. */
export async function provision(runtime: Runtime, config: Config): Promise<Provisioned> {
  const tables = await ensureTables(runtime.dynamo, config);
  const queues = await ensureQueues(runtime.sqs, config);
  const failureQueues = await ensureFailureQueues(runtime.sqs, config);
  try {
    await runtime.eventBridge.send(new CreateEventBusCommand({ Name: config.eventBus }));
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
  }
  return { tables, queues, failureQueues };
}

/** An in-process server's EADDRINUSE as the refusal `local start` gives for a taken port. */
async function inUse(error: Error, claim: PortClaim): Promise<Error> {
  // A kept state the emulator refuses already names its file and field: it is the whole message.
  if (error instanceof StateFileError) return error;
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
    return new Error(`${claim.service} on port ${claim.port}: ${error.message}`);
  }
  return new PortInUseError(claim, await portHolders(claim.port));
}
