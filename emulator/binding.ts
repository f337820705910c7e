/**
 * rest-json input binding: where each member of an operation's input travels (path label, query string or
 * JSON body), prepared once per operation from the model, and a request's members gathered from there.
 */
import { badRequest } from './errors';
import type { ModelOperation, ServiceModel } from './model/types';
import type { OperationInput } from './operations/types';
import type { Validator, ValidatorSet } from './validation';

interface MemberBinding {
  readonly name: string;
  readonly location: 'uri' | 'querystring' | 'body';
  readonly locationName: string;
  readonly integer: boolean;
}

export interface PreparedOperation {
  readonly name: string;
  readonly definition: ModelOperation;
  readonly bindings: readonly MemberBinding[];
  readonly validate: Validator | undefined;
  readonly hasBody: boolean;
}

/** Each model operation with its member bindings and its input validator. */
export function prepareOperations(
  model: ServiceModel,
  validators: ValidatorSet,
): Map<string, PreparedOperation> {
  const prepared = new Map<string, PreparedOperation>();
  for (const [name, definition] of Object.entries(model.operations)) {
    const inputShape = definition.input ? model.shapes[definition.input] : undefined;
    const bindings: MemberBinding[] = Object.entries(inputShape?.members ?? {}).map(
      ([memberName, member]) => ({
        name: memberName,
        location: member.location === 'uri' || member.location === 'querystring' ? member.location : 'body',
        locationName: member.locationName ?? memberName,
        integer: model.shapes[member.shape]?.type === 'integer',
      }),
    );
    prepared.set(name, {
      name,
      definition,
      bindings,
      validate: definition.input ? validators.forShape(definition.input) : undefined,
      hasBody: bindings.some((binding) => binding.location === 'body'),
    });
  }
  return prepared;
}

/** Gathers the operation's members from the path labels, the query string and the parsed body. */
export function bindInput(
  operation: PreparedOperation,
  labels: Record<string, string>,
  query: URLSearchParams,
  body: unknown,
): OperationInput {
  if (operation.hasBody && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw badRequest('body: must be a JSON object');
  }
  const input: OperationInput = {};
  for (const binding of operation.bindings) {
    let value: unknown;
    if (binding.location === 'uri') value = labels[binding.locationName];
    else if (binding.location === 'querystring') {
      const raw = query.get(binding.locationName);
      value = raw === null ? undefined : binding.integer && /^-?\d+$/.test(raw) ? Number(raw) : raw;
    } else value = (body as Record<string, unknown>)[binding.name];
    if (value !== undefined && value !== null) input[binding.name] = value;
  }
  return input;
}
