import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { PropertyType, ResourceProperties, SpecDatabase } from '@aws-cdk/service-spec-types';
import type { CfnResource } from './iam';

/**
 * Checks a template's resources against the CloudFormation resource specification as AWS CDK maintains it
 * (`@aws-cdk/aws-service-spec`, built from the CloudFormation registry schemas): unknown properties,
 * missing required ones, and values of the wrong shape. Intrinsic functions are accepted wherever a value
 * is; a property's earlier types (`previousTypes`) are accepted too, as CloudFormation still takes them.
 */

/** Loaded once (about a second: a 2.6 MB gzipped database). */
let loaded: SpecDatabase | undefined;
function database(): SpecDatabase {
  loaded ??= loadAwsServiceSpecSync();
  return loaded;
}

const INTRINSICS = new Set([
  'Ref',
  'Fn::GetAtt',
  'Fn::Sub',
  'Fn::If',
  'Fn::Join',
  'Fn::Select',
  'Fn::ImportValue',
  'Fn::FindInMap',
  'Fn::Split',
  'Fn::Base64',
]);

function isIntrinsic(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && INTRINSICS.has(keys[0] as string);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Problems of one value against one property type, each `path: what is wrong`. */
function typeProblems(path: string, type: PropertyType, value: unknown): string[] {
  if (isIntrinsic(value)) return [];
  const numeric = typeof value === 'string' ? Number(value) : value;
  switch (type.type) {
    case 'string':
    case 'date-time':
      return typeof value === 'string' ? [] : [`${path}: must be a string`];
    case 'integer':
      return Number.isInteger(numeric) ? [] : [`${path}: must be an integer`];
    case 'number':
      return Number.isFinite(numeric) ? [] : [`${path}: must be a number`];
    case 'boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false'
        ? []
        : [`${path}: must be a boolean`];
    case 'json':
      return typeof value === 'object' && value !== null ? [] : [`${path}: must be a JSON object`];
    case 'null':
      return value === null ? [] : [`${path}: must be null`];
    case 'tag':
      return isObject(value) && typeof value.Key === 'string'
        ? []
        : [`${path}: must be a tag ({ Key, Value })`];
    case 'ref':
      return propertiesProblems(path, database().get('typeDefinition', type.reference).properties, value);
    case 'array':
      if (!Array.isArray(value)) return [`${path}: must be a list`];
      return value.flatMap((item, index) => typeProblems(`${path}[${index}]`, type.element, item));
    case 'map':
      if (!isObject(value)) return [`${path}: must be a map`];
      return Object.entries(value).flatMap(([key, item]) =>
        typeProblems(`${path}.${key}`, type.element, item),
      );
    case 'union': {
      const attempts = type.types.map((member) => typeProblems(path, member, value));
      return attempts.some((problems) => problems.length === 0) ? [] : (attempts[0] ?? []);
    }
    default:
      return [];
  }
}

/** Problems of an object against the properties of a resource or property type. */
function propertiesProblems(path: string, properties: ResourceProperties, value: unknown): string[] {
  if (isIntrinsic(value)) return [];
  if (!isObject(value)) return [`${path}: must be an object`];
  const problems: string[] = [];
  for (const [name, property] of Object.entries(properties)) {
    if (property.required && !(name in value)) problems.push(`${path}.${name}: required`);
  }
  for (const [name, member] of Object.entries(value)) {
    const property = properties[name];
    if (!property) {
      problems.push(`${path}.${name}: not a property (${Object.keys(properties).sort().join(', ')})`);
      continue;
    }
    const attempts = [property.type, ...(property.previousTypes ?? [])].map((type) =>
      typeProblems(`${path}.${name}`, type, member),
    );
    if (!attempts.some((found) => found.length === 0)) problems.push(...(attempts[0] ?? []));
  }
  return problems;
}

/** Every problem of a resource's properties by the specification; empty when it is as specified. */
export function specificationProblems(id: string, cfn: CfnResource): string[] {
  const [resourceType] = database().lookup('resource', 'cloudFormationType', 'equals', cfn.Type);
  if (!resourceType) return [`${id}: ${cfn.Type} is not in the CloudFormation resource specification`];
  return propertiesProblems(id, resourceType.properties, cfn.Properties ?? {});
}
