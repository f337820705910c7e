/**
 * Validators compiled once from the model's shapes: required members, types, string length (in code points),
 * patterns (anchored full matches), integer ranges, enums, list sizes and nested structures.
 * Each validator returns the first violation as `<member path>: <rule>`, or undefined.
 */
import type { ModelShape, ServiceModel } from './model/types';

export type Validator = (value: unknown, path: string) => string | undefined;

const REGEX_SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

/**
 * Translates a model pattern (Java regex flavour) into a JS `u`-flag RegExp source anchored as a full match.
 * Java takes exactly four hex digits after `\u`, but the model writes supplementary planes as `\u10000`, so
 * five or six digits become `\u{10000}`. Java tolerates escaping any punctuation (`\:`, `\_`, `\@`), the `u`
 * flag does not, so redundant escapes are dropped.
 */
export function translatePattern(javaPattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < javaPattern.length; i++) {
    const char = javaPattern[i] as string;
    if (char === '\\') {
      const next = javaPattern[i + 1] ?? '';
      if (next === 'u') {
        const hex = /^[0-9A-Fa-f]{4,6}/.exec(javaPattern.slice(i + 2))?.[0];
        if (!hex) throw new Error(`bad \\u escape in pattern ${javaPattern}`);
        out += hex.length === 4 ? `\\u${hex}` : `\\u{${hex}}`;
        i += 1 + hex.length;
      } else if (/[A-Za-z0-9]/.test(next) || REGEX_SYNTAX.has(next) || (next === '-' && inClass)) {
        out += `\\${next}`;
        i += 1;
      } else {
        out += next;
        i += 1;
      }
      continue;
    }
    if (char === '[' && !inClass) inClass = true;
    else if (char === ']' && inClass) inClass = false;
    out += char;
  }
  return `^(?:${out})$`;
}

export function compilePattern(javaPattern: string): RegExp {
  return new RegExp(translatePattern(javaPattern), 'u');
}

const SURROGATE = /[\uD800-\uDFFF]/;
/** Smithy lengths count Unicode code points, not UTF-16 units. */
function codePointLength(value: string): number {
  if (!SURROGATE.test(value)) return value.length;
  let count = 0;
  for (const _ of value) count++;
  return count;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeRange(shape: ModelShape, unit: string): string {
  if (shape.min !== undefined && shape.max !== undefined)
    return `between ${shape.min} and ${shape.max}${unit}`;
  if (shape.min !== undefined) return `at least ${shape.min}${unit}`;
  return `at most ${shape.max}${unit}`;
}

export function memberPath(parent: string, member: string): string {
  return parent ? `${parent}.${member}` : member;
}

/** Compiles validators for every shape of a model, sharing one validator per shape. */
export class ValidatorSet {
  private readonly cache = new Map<string, Validator>();
  constructor(private readonly model: ServiceModel) {}

  forShape(name: string): Validator {
    const cached = this.cache.get(name);
    if (cached) return cached;
    // Register a forwarding stub first so recursive shapes terminate.
    let compiled: Validator | undefined;
    this.cache.set(name, (value, path) => (compiled as Validator)(value, path));
    compiled = this.compile(name);
    this.cache.set(name, compiled);
    return compiled;
  }

  private compile(name: string): Validator {
    const shape = this.model.shapes[name];
    if (!shape) throw new Error(`unknown shape ${name}`);
    switch (shape.type) {
      case 'string':
        return compileString(shape);
      case 'integer':
      case 'long':
        return compileInteger(shape);
      case 'boolean':
        return (value, path) => (typeof value === 'boolean' ? undefined : `${path}: must be a boolean`);
      case 'timestamp':
        return (value, path) => (typeof value === 'number' ? undefined : `${path}: must be a timestamp`);
      case 'list':
        return this.compileList(shape);
      case 'structure':
        return this.compileStructure(shape);
      default:
        return (value, path) => (value === undefined ? `${path}: unsupported shape` : undefined);
    }
  }

  private compileList(shape: ModelShape): Validator {
    const item = this.forShape(shape.member as string);
    const { min, max } = shape;
    return (value, path) => {
      if (!Array.isArray(value)) return `${path}: must be a list`;
      if ((min !== undefined && value.length < min) || (max !== undefined && value.length > max)) {
        return `${path}: must have ${describeRange(shape, ' items')}`;
      }
      for (let i = 0; i < value.length; i++) {
        const element = value[i];
        if (element === undefined || element === null) return `${path}[${i}]: must not be null`;
        const problem = item(element, `${path}[${i}]`);
        if (problem) return problem;
      }
      return undefined;
    };
  }

  private compileStructure(shape: ModelShape): Validator {
    const members = Object.entries(shape.members ?? {}).map(([memberName, member]) => ({
      name: memberName,
      required: shape.required?.includes(memberName) ?? false,
      validate: this.forShape(member.shape),
    }));
    return (value, path) => {
      if (!isPlainObject(value)) return `${path || 'body'}: must be a structure (JSON object)`;
      for (const member of members) {
        const memberValue = value[member.name];
        const at = memberPath(path, member.name);
        if (memberValue === undefined || memberValue === null) {
          if (member.required) return `${at}: is required`;
          continue;
        }
        const problem = member.validate(memberValue, at);
        if (problem) return problem;
      }
      return undefined;
    };
  }
}

function compileString(shape: ModelShape): Validator {
  const pattern = shape.pattern !== undefined ? compilePattern(shape.pattern) : undefined;
  const allowed = shape.enum ? new Set(shape.enum) : undefined;
  const { min, max } = shape;
  const lengthRule = min !== undefined || max !== undefined ? describeRange(shape, ' characters') : '';
  return (value, path) => {
    if (typeof value !== 'string') return `${path}: must be a string`;
    if (allowed && !allowed.has(value)) return `${path}: must be one of ${[...allowed].join(', ')}`;
    if (lengthRule) {
      const length = codePointLength(value);
      if ((min !== undefined && length < min) || (max !== undefined && length > max)) {
        return `${path}: length must be ${lengthRule}`;
      }
    }
    if (pattern && !pattern.test(value)) return `${path}: must match pattern ${shape.pattern}`;
    return undefined;
  };
}

function compileInteger(shape: ModelShape): Validator {
  const { min, max } = shape;
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) return `${path}: must be an integer`;
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      return `${path}: must be ${describeRange(shape, '')}`;
    }
    return undefined;
  };
}
