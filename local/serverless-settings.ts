/**
 * The event-source settings serverless.yml deploys, read for the local stack so that its SQS pollers have the
 * deployed shape (batch size, batching window, maximum concurrency, function timeout) instead of numbers of
 * their own that drift from AWS.
 *
 * Only what an SQS event source mapping needs is resolved: plain values and `${param:name}` (optionally with
 * a fallback, `${param:name, 5}`), from `params.default` overridden by the chosen stage's params, as the
 * Serverless Framework resolves them. Anything else (`${env:…}`, `${self:…}`, `${file(…)}`) is reported as
 * unresolved when a setting needs it, never guessed. CloudFormation intrinsics (`!GetAtt`, `!Ref`, `!Sub`, …)
 * are kept as opaque values: the pollers never need them, but the file must still parse.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CollectionTag, isMap, isSeq, parse, type ScalarTag } from 'yaml';

export interface SqsEventSourceSettings {
  /** Messages per invocation (Lambda: 1..10,000). */
  readonly batchSize: number;
  /** How long Lambda gathers a batch (0..300 s; 0 when serverless.yml sets none, Lambda's default). */
  readonly maximumBatchingWindowSeconds: number;
  /** Concurrent invocations the mapping may run (Lambda: 2..1,000). */
  readonly maximumConcurrency: number;
  /** The function's timeout (function `timeout`, else `provider.timeout`). */
  readonly timeoutSeconds: number;
}

export interface ServerlessSettings {
  /** The file the settings came from (for messages). */
  readonly source: string;
  readonly stage: string;
  /** `params.default` with the stage's params on top, as written (variables inside them unresolved). */
  params(): Readonly<Record<string, unknown>>;
  /** Every function with an `sqs` event, by function name. */
  sqsEventSources(): Readonly<Record<string, SqsEventSourceSettings>>;
  /** One function's SQS event source; throws naming the function when it has none. */
  sqsEventSource(functionName: string): SqsEventSourceSettings;
}

export interface LoadServerlessSettingsOptions {
  /** Default: serverless.yml at the repository root. */
  readonly path?: string;
  /** Whose params override `params.default` (default `local`, the stage `serverless offline` runs). */
  readonly stage?: string;
}

export const DEFAULT_SERVERLESS_FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'serverless.yml',
);

export function loadServerlessSettings(options: LoadServerlessSettingsOptions = {}): ServerlessSettings {
  const file = options.path ?? DEFAULT_SERVERLESS_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}`);
  }
  return parseServerlessSettings(text, { source: file, ...(options.stage ? { stage: options.stage } : {}) });
}

/** Same as `loadServerlessSettings`, from the text of a serverless.yml (`source` names it in errors). */
export function parseServerlessSettings(
  text: string,
  options: { source?: string; stage?: string } = {},
): ServerlessSettings {
  const source = options.source ?? 'serverless.yml';
  const stage = options.stage ?? 'local';
  let document: unknown;
  try {
    document = parse(text, { customTags: CLOUDFORMATION_TAGS, prettyErrors: true });
  } catch (error) {
    throw new Error(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  if (!isRecord(document)) throw new Error(`${source}: expected a mapping at the top level`);

  const paramsSection = optionalRecord(document.params, `${source}: params`);
  const defaults = optionalRecord(paramsSection.default, `${source}: params.default`);
  const stageParams = optionalRecord(paramsSection[stage], `${source}: params.${stage}`);
  const params: Record<string, unknown> = { ...defaults, ...stageParams };

  const provider = optionalRecord(document.provider, `${source}: provider`);
  const functions = optionalRecord(document.functions, `${source}: functions`);
  const sources: Record<string, SqsEventSourceSettings> = {};
  for (const [functionName, definition] of Object.entries(functions)) {
    const where = `${source}: functions.${functionName}`;
    const fn = optionalRecord(definition, where);
    const events = fn.events === undefined ? [] : fn.events;
    if (!Array.isArray(events)) throw new Error(`${where}.events must be a list`);
    const sqsEvents = events.filter((event): event is { sqs: unknown } => isRecord(event) && 'sqs' in event);
    if (sqsEvents.length === 0) continue;
    if (sqsEvents.length > 1) {
      throw new Error(
        `${where} has ${sqsEvents.length} sqs events; the local stack runs one queue per function: keep one`,
      );
    }
    const sqs = sqsEvents[0]?.sqs;
    if (!isRecord(sqs)) throw new Error(`${where}: the sqs event must be a mapping (arn, batchSize, …)`);
    const setting = (key: string, value: unknown, min: number, max: number, keyWhere: string) =>
      resolveInteger(value, { where: keyWhere, key, params, stage, min, max });
    const eventWhere = `${where}.events[sqs]`;
    if (sqs.batchSize === undefined) throw missing(eventWhere, 'batchSize', 'Lambda would use 10');
    if (sqs.maximumConcurrency === undefined) {
      throw missing(eventWhere, 'maximumConcurrency', 'without it Lambda scales up to 1,000 invocations');
    }
    const timeout = fn.timeout ?? provider.timeout;
    if (timeout === undefined) {
      throw missing(where, 'timeout', 'the Serverless Framework would deploy 6 s; set it on the function');
    }
    const batchSize = setting('batchSize', sqs.batchSize, 1, 10_000, eventWhere);
    const maximumBatchingWindowSeconds =
      sqs.maximumBatchingWindow === undefined
        ? 0
        : setting('maximumBatchingWindow', sqs.maximumBatchingWindow, 0, 300, eventWhere);
    if (batchSize > SQS_RECEIVE_MAX && maximumBatchingWindowSeconds < 1) {
      throw new Error(
        `${eventWhere}: batchSize ${batchSize} needs maximumBatchingWindow of at least 1 s (Lambda refuses batches over ${SQS_RECEIVE_MAX} without one)`,
      );
    }
    sources[functionName] = {
      batchSize,
      maximumBatchingWindowSeconds,
      maximumConcurrency: setting('maximumConcurrency', sqs.maximumConcurrency, 2, 1_000, eventWhere),
      timeoutSeconds: setting(
        'timeout',
        timeout,
        1,
        900,
        fn.timeout === undefined ? `${source}: provider` : where,
      ),
    };
  }

  return {
    source,
    stage,
    params: () => ({ ...params }),
    sqsEventSources: () => ({ ...sources }),
    sqsEventSource(functionName) {
      const found = sources[functionName];
      if (!found) {
        const known = Object.keys(sources).join(', ') || 'none';
        throw new Error(
          `${source}: function ${functionName} has no sqs event (functions with one: ${known})`,
        );
      }
      return found;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------

/** What one ReceiveMessage returns at most; Lambda needs a batching window to gather more. */
const SQS_RECEIVE_MAX = 10;

const PARAM = /^\$\{param:([A-Za-z0-9_.-]+)(?:\s*,\s*(.+?))?\s*\}$/;

function resolveInteger(
  value: unknown,
  context: {
    where: string;
    key: string;
    params: Record<string, unknown>;
    stage: string;
    min: number;
    max: number;
  },
): number {
  const { where, key, params, stage, min, max } = context;
  let resolved = value;
  let via = '';
  if (typeof value === 'string') {
    const reference = PARAM.exec(value.trim());
    if (reference) {
      const [, name = '', fallback] = reference;
      via = ` (from \${param:${name}})`;
      if (name in params) resolved = params[name];
      else if (fallback !== undefined) resolved = unquote(fallback);
      else {
        throw new Error(
          `${where}.${key}: \${param:${name}} is not defined in params.default or params.${stage}; add it there`,
        );
      }
    }
  }
  if (typeof resolved === 'string' && resolved.includes('${')) {
    throw new Error(
      `${where}.${key}: ${value}${via ? ` resolves to ${resolved}, which` : ''} cannot be resolved here (only plain values and \${param:name} are); use a plain param value`,
    );
  }
  const number = typeof resolved === 'string' && /^\s*-?\d+\s*$/.test(resolved) ? Number(resolved) : resolved;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    const shown = typeof resolved === 'string' ? resolved : JSON.stringify(resolved);
    throw new Error(`${where}.${key}: must be an integer from ${min} to ${max}, got ${shown}${via}`);
  }
  return number;
}

function missing(where: string, key: string, why: string): Error {
  return new Error(`${where}: ${key} is missing (${why}); the local stack needs it explicit`);
}

function unquote(text: string): string {
  const trimmed = text.trim();
  const quoted = /^'(.*)'$|^"(.*)"$/.exec(trimmed);
  return quoted ? (quoted[1] ?? quoted[2] ?? '') : trimmed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalRecord(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new Error(`${where} must be a mapping`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// CloudFormation's short-form intrinsics, kept opaque
// ---------------------------------------------------------------------------------------------------------

/** A CloudFormation intrinsic (`!GetAtt Queue.Arn`), kept as written: only CloudFormation can evaluate it. */
export class CloudFormationIntrinsic {
  constructor(
    readonly tag: string,
    readonly value: unknown,
  ) {}
}

const INTRINSICS = [
  'And',
  'Base64',
  'Cidr',
  'Condition',
  'Equals',
  'FindInMap',
  'GetAZs',
  'GetAtt',
  'If',
  'ImportValue',
  'Join',
  'Length',
  'Not',
  'Or',
  'Ref',
  'Select',
  'Split',
  'Sub',
  'ToJsonString',
  'Transform',
];

/** Each intrinsic in all three forms YAML allows: `!Ref Name`, `!Join [a, b]`, `!Transform { … }`. */
const CLOUDFORMATION_TAGS: (ScalarTag | CollectionTag)[] = INTRINSICS.flatMap((name) => {
  const tag = `!${name}`;
  const scalar: ScalarTag = { tag, resolve: (value) => new CloudFormationIntrinsic(tag, value) };
  const collection = (kind: 'map' | 'seq'): CollectionTag => ({
    tag,
    collection: kind,
    resolve: (node) =>
      new CloudFormationIntrinsic(tag, isMap(node) || isSeq(node) ? node.toJSON() : undefined),
  });
  return [scalar, collection('seq'), collection('map')];
});
