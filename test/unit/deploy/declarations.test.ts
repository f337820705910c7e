import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas/dynamodb';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { SqsSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import { describe, expect, it } from 'vitest';
import { functionDeclarationSchema } from '../../../functions/declaration';
import { FUNCTIONS } from '../../../functions/index';
import queues from '../../../infra/queues.json' with { type: 'json' };
import tables from '../../../infra/tables.json' with { type: 'json' };
import { matchesPattern } from '../../../local/event-pattern';

/**
 * A function is one folder: functions/<name>/ holds handler.ts, its declaration (function.ts) and a sample
 * event (event.json, for `serverless invoke local -p`), and functions/index.ts lists it once.
 */

const FUNCTIONS_DIR = fileURLToPath(new URL('../../../functions', import.meta.url));
const folders = readdirSync(FUNCTIONS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const sampleEvent = (name: string): unknown =>
  JSON.parse(readFileSync(join(FUNCTIONS_DIR, name, 'event.json'), 'utf8'));

describe('function folders', () => {
  it('lists every folder once in functions/index.ts, under its folder name', () => {
    const names = FUNCTIONS.map((fn) => fn.name);
    expect([...names].sort()).toEqual(folders);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(folders)('%s has its handler, declaration and sample event', (name) => {
    for (const file of ['handler.ts', 'function.ts', 'event.json']) {
      expect(existsSync(join(FUNCTIONS_DIR, name, file)), `functions/${name}/${file}`).toBe(true);
    }
  });

  it.each(
    FUNCTIONS.map((fn) => [fn.name, fn] as const),
  )('%s has a valid declaration', (_name, declaration) => {
    expect(functionDeclarationSchema.safeParse(declaration).error).toBeUndefined();
  });
});

describe('sample events', () => {
  /** Lambda's SQS event of the trigger's queue, with the md5 SQS computes for each body. */
  const sqsCases = FUNCTIONS.flatMap((fn) =>
    fn.trigger.type === 'sqs' ? [[fn.name, fn.trigger.queue] as const] : [],
  );
  it.each(sqsCases)('%s: an SQS event from %s', (name, queue) => {
    const event = SqsSchema.parse(sampleEvent(name));
    for (const record of event.Records) {
      expect(record.eventSourceARN.split(':').at(-1)).toBe(queues[queue].defaultName);
      expect(record.md5OfBody).toBe(createHash('md5').update(record.body).digest('hex'));
      expect(() => JSON.parse(record.body)).not.toThrow();
    }
  });

  const streamCases = FUNCTIONS.flatMap((fn) =>
    fn.trigger.type === 'dynamodbStream' ? [[fn.name, fn.trigger.table] as const] : [],
  );
  it.each(streamCases)('%s: a DynamoDB stream event from %s', (name, table) => {
    const event = DynamoDBStreamSchema.parse(sampleEvent(name));
    for (const record of event.Records) {
      expect(record.eventSourceARN).toContain(`:table/${tables[table].defaultName}/stream/`);
      expect('StreamViewType' in record.dynamodb && record.dynamodb.StreamViewType).toBe(
        tables[table].StreamSpecification.StreamViewType,
      );
    }
  });

  const eventBridgeCases = FUNCTIONS.flatMap((fn) =>
    fn.trigger.type === 'schedule' || fn.trigger.type === 'eventBridge'
      ? [[fn.name, fn.trigger] as const]
      : [],
  );
  it.each(eventBridgeCases)('%s: an EventBridge event its trigger delivers', (name, trigger) => {
    const event = EventBridgeSchema.parse(sampleEvent(name));
    if (trigger.type === 'schedule') {
      expect(event.source).toBe('aws.events');
      expect(event['detail-type']).toBe('Scheduled Event');
    } else {
      expect(matchesPattern(trigger.pattern, sampleEvent(name) as Record<string, unknown>)).toBe(true);
    }
  });

  it('covers every function', () => {
    expect([...sqsCases, ...streamCases, ...eventBridgeCases].map(([name]) => name).sort()).toEqual(folders);
  });
});
