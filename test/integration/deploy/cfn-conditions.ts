/**
 * A template as CloudFormation would deploy it for given parameter values: each `Fn::If` replaced by the
 * branch its condition picks (`AWS::NoValue` removes the member), and each `Ref` to a parameter by its value
 * (a CommaDelimitedList becomes a list of strings). Only what the templates here use is understood:
 * Fn::Not, Fn::Equals, Fn::Join, Fn::If and Ref; anything else in a condition is an error, not a guess.
 */

type Json = unknown;

interface Parameter {
  readonly Type: string;
  readonly Default?: unknown;
}

export interface ParameterizedTemplate {
  readonly Parameters?: Readonly<Record<string, Parameter>>;
  readonly Conditions?: Readonly<Record<string, Json>>;
}

const NO_VALUE = Symbol('AWS::NoValue');

function parameterValue(parameter: Parameter, given: string | undefined): string | string[] {
  const raw = given ?? (typeof parameter.Default === 'string' ? parameter.Default : '');
  return parameter.Type === 'CommaDelimitedList' ? raw.split(',').map((part) => part.trim()) : raw;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function instantiate<T extends ParameterizedTemplate>(
  template: T,
  parameters: Readonly<Record<string, string>> = {},
): T {
  const values = new Map(
    Object.entries(template.Parameters ?? {}).map(([name, parameter]) => [
      name,
      parameterValue(parameter, parameters[name]),
    ]),
  );
  for (const name of Object.keys(parameters)) {
    if (!values.has(name)) throw new Error(`the template has no parameter ${name}`);
  }
  const conditions = new Map<string, boolean>();

  const evaluate = (expression: Json): unknown => {
    if (!isObject(expression)) return expression;
    const [[key, argument] = []] = Object.entries(expression);
    if (key === 'Ref' && typeof argument === 'string' && values.has(argument)) return values.get(argument);
    if (key === 'Condition' && typeof argument === 'string') return condition(argument);
    if (key === 'Fn::Not' && Array.isArray(argument)) return !evaluate(argument[0]);
    if (key === 'Fn::Equals' && Array.isArray(argument)) {
      return JSON.stringify(evaluate(argument[0])) === JSON.stringify(evaluate(argument[1]));
    }
    if (key === 'Fn::Join' && Array.isArray(argument)) {
      const parts = evaluate(argument[1]);
      if (!Array.isArray(parts)) throw new Error(`Fn::Join of ${JSON.stringify(argument[1])}`);
      return parts.map((part) => String(evaluate(part))).join(String(argument[0]));
    }
    throw new Error(`a condition this helper cannot evaluate: ${JSON.stringify(expression)}`);
  };

  const condition = (name: string): boolean => {
    const known = conditions.get(name);
    if (known !== undefined) return known;
    const expression = template.Conditions?.[name];
    if (expression === undefined) throw new Error(`no condition ${name}`);
    const result = evaluate(expression) === true;
    conditions.set(name, result);
    return result;
  };

  const resolve = (value: Json): unknown => {
    if (Array.isArray(value)) return value.map(resolve).filter((item) => item !== NO_VALUE);
    if (!isObject(value)) return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [[key, argument]] = entries as [[string, unknown]];
      if (key === 'Ref' && argument === 'AWS::NoValue') return NO_VALUE;
      if (key === 'Ref' && typeof argument === 'string' && values.has(argument)) return values.get(argument);
      if (key === 'Fn::If' && Array.isArray(argument)) {
        return resolve(condition(String(argument[0])) ? argument[1] : argument[2]);
      }
    }
    const resolved: Record<string, unknown> = {};
    for (const [key, member] of entries) {
      const next = resolve(member);
      if (next !== NO_VALUE) resolved[key] = next;
    }
    return resolved;
  };

  const { Parameters: _parameters, Conditions: _conditions, ...rest } = template;
  return { ...template, ...(resolve(rest) as object) } as T;
}
