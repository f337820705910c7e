/**
 * Writes docs/events/<detail-type>.json: one JSON Schema (draft 2020-12) per lifecycle event's `detail`,
 * from the zod contracts in shared/contracts/lifecycle-events.ts, for consumers of the bus (as the EventBridge schema
 * registry would publish them). test/unit/sync/event-contracts.test.ts fails when a file is out of date.
 *
 *   npm run events:schemas
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { EVENT_SOURCE } from '../shared/aws/events';
import { EVENT_DETAIL_SCHEMAS, EVENT_TYPES, type EventType } from '../shared/contracts/lifecycle-events';

export const EVENTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../docs/events');

export function schemaFileName(type: EventType): string {
  return `${type.toLowerCase().replace(/ /g, '-')}.json`;
}

export function eventSchema(type: EventType): Record<string, unknown> {
  return {
    ...z.toJSONSchema(EVENT_DETAIL_SCHEMAS[type]),
    title: `${EVENT_SOURCE} · ${type}`,
    description: `The detail of "${type}" events (source "${EVENT_SOURCE}", detail-type "${type}").`,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(EVENTS_DIR, { recursive: true });
  for (const type of EVENT_TYPES) {
    writeFileSync(join(EVENTS_DIR, schemaFileName(type)), `${JSON.stringify(eventSchema(type), null, 2)}\n`);
  }
  process.stdout.write(`wrote ${EVENT_TYPES.length} schemas to ${EVENTS_DIR}\n`);
}
