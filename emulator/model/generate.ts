/**
 * Generates `chime-sdk-identity.json`, the data-only route and constraint table the emulator runs on.
 *
 * Reads the botocore model (routes, shapes, constraints) and the Smithy model (pagination traits) from
 * `../shared/aws-models/chime-sdk-identity/` and keeps only what the emulator needs: no documentation.
 * The output is committed because users of the emulator do not have the shared model folder.
 *
 *   npx tsx emulator/model/generate.ts [path/to/chime-sdk-identity]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelMember, ModelOperation, ModelShape, ServiceModel } from './types';

interface BotocoreMember {
  shape: string;
  location?: string;
  locationName?: string;
  idempotencyToken?: boolean;
}
interface BotocoreShape {
  type: string;
  required?: string[];
  members?: Record<string, BotocoreMember>;
  member?: { shape: string };
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  error?: { code?: string; httpStatusCode: number };
  exception?: boolean;
  fault?: boolean;
}
interface BotocoreOperation {
  http: { method: string; requestUri: string; responseCode?: number };
  input?: { shape: string };
  output?: { shape: string };
  errors?: { shape: string }[];
}
interface BotocoreModel {
  metadata: { apiVersion: string; signingName: string; endpointPrefix: string; protocol: string };
  operations: Record<string, BotocoreOperation>;
  shapes: Record<string, BotocoreShape>;
}
interface SmithyModel {
  shapes: Record<string, { traits?: Record<string, unknown> }>;
}

const here = dirname(fileURLToPath(import.meta.url));
const sourceDir = resolve(process.argv[2] ?? join(here, '../../../shared/aws-models/chime-sdk-identity'));
const botocore = JSON.parse(readFileSync(join(sourceDir, 'service-2.json'), 'utf8')) as BotocoreModel;
const smithy = JSON.parse(
  readFileSync(join(sourceDir, 'chime-sdk-identity-2021-04-20.json'), 'utf8'),
) as SmithyModel;

const paginated = new Set(
  Object.entries(smithy.shapes)
    .filter(([, shape]) => shape.traits?.['smithy.api#paginated'] !== undefined)
    .map(([id]) => id.slice(id.indexOf('#') + 1)),
);

const shapes: Record<string, ModelShape> = {};
function copyShape(name: string): void {
  if (shapes[name]) return;
  const source = botocore.shapes[name];
  if (!source) throw new Error(`shape ${name} is referenced but not defined`);
  const shape: { -readonly [K in keyof ModelShape]: ModelShape[K] } = {
    type: source.type as ModelShape['type'],
  };
  shapes[name] = shape;
  if (source.min !== undefined) shape.min = source.min;
  if (source.max !== undefined) shape.max = source.max;
  if (source.pattern !== undefined) shape.pattern = source.pattern;
  if (source.enum !== undefined) shape.enum = [...source.enum];
  if (source.required?.length) shape.required = [...source.required];
  if (source.error)
    shape.error = { code: source.error.code ?? name, httpStatus: source.error.httpStatusCode };
  if (source.members) {
    const members: Record<string, ModelMember> = {};
    for (const [memberName, member] of Object.entries(source.members)) {
      const copy: { -readonly [K in keyof ModelMember]: ModelMember[K] } = { shape: member.shape };
      if (member.location) copy.location = member.location as NonNullable<ModelMember['location']>;
      if (member.locationName) copy.locationName = member.locationName;
      if (member.idempotencyToken) copy.idempotencyToken = true;
      members[memberName] = copy;
      copyShape(member.shape);
    }
    shape.members = members;
  }
  if (source.member) {
    shape.member = source.member.shape;
    copyShape(source.member.shape);
  }
}

const operations: Record<string, ModelOperation> = {};
for (const [name, operation] of Object.entries(botocore.operations).sort(([a], [b]) => (a < b ? -1 : 1))) {
  const [path = '', query] = operation.http.requestUri.split('?');
  const staticQuery: Record<string, string> = {};
  for (const pair of query ? query.split('&') : []) {
    const [key = '', value = ''] = pair.split('=');
    staticQuery[key] = value;
  }
  const entry: { -readonly [K in keyof ModelOperation]: ModelOperation[K] } = {
    method: operation.http.method,
    path,
    staticQuery,
    successCode: operation.http.responseCode ?? 200,
    errors: (operation.errors ?? []).map((error) => error.shape),
    paginated: paginated.has(name),
  };
  if (operation.input) {
    entry.input = operation.input.shape;
    copyShape(operation.input.shape);
  }
  if (operation.output) {
    entry.output = operation.output.shape;
    copyShape(operation.output.shape);
  }
  for (const error of entry.errors) copyShape(error);
  operations[name] = entry;
}

const model: ServiceModel = {
  apiVersion: botocore.metadata.apiVersion,
  signingName: botocore.metadata.signingName,
  endpointPrefix: botocore.metadata.endpointPrefix,
  operations,
  shapes: Object.fromEntries(Object.entries(shapes).sort(([a], [b]) => (a < b ? -1 : 1))),
};
const target = join(here, 'chime-sdk-identity.json');
writeFileSync(target, `${JSON.stringify(model, null, 1)}\n`);
console.log(
  `wrote ${target}: ${Object.keys(operations).length} operations, ${Object.keys(shapes).length} shapes`,
);
