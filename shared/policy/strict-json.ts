/**
 * Strict reading of policy documents: bytes → text → JSON value, refusing what `JSON.parse` and
 * `Buffer.toString('utf8')` silently accept.
 *
 * Hand-written rather than a library because the three checks we need are not offered together by a maintained
 * one: `TextDecoder({ fatal: true })` rejects bad UTF-8 but does not say where; `JSON.parse` lets the last of two
 * duplicate keys win, accepts an escaped lone surrogate (`"\ud800"`), and builds objects whose `__proto__` key
 * is special. Parsers with duplicate detection (e.g. json-dup-key-validator) parse the text a second time and
 * still return ordinary objects. The grammar is RFC 8259's and small, so one pass here does all of it: every
 * problem names its JSON path and line/column, objects have a null prototype (input keys stay plain data), and
 * nesting is bounded so a hostile `[[[[…` cannot overflow the stack.
 */
import { formatPath } from './schema';

/** A parsed JSON object: null prototype, so `__proto__`, `constructor` and `prototype` are ordinary keys. */
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** What is wrong and where: `path` as in policy problems (`rules[1].id`, `(root)`), plus a human position. */
export interface StrictJsonProblem {
  readonly path: string;
  readonly message: string;
}

export type StrictJsonResult =
  | { readonly ok: true; readonly value: JsonValue; readonly text: string }
  | { readonly ok: false; readonly problem: StrictJsonProblem };

/** Deeper than any policy needs (a policy is 5 levels deep), shallow enough for any stack. */
export const MAX_JSON_DEPTH = 32;

export function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * Finds the first byte that is not part of a well-formed UTF-8 sequence (Unicode 15 table 3-7: no overlong
 * forms, no surrogates U+D800..U+DFFF, nothing above U+10FFFF). Returns its offset, or -1 when all is well.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] as number;
    if (lead < 0x80) {
      index++;
      continue;
    }
    let length: number;
    let min = 0x80;
    let max = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) min = 0xa0; // overlong
      if (lead === 0xed) max = 0x9f; // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) min = 0x90; // overlong
      if (lead === 0xf4) max = 0x8f; // above U+10FFFF
    } else return index;
    for (let k = 1; k < length; k++) {
      const next = bytes[index + k];
      const low = k === 1 ? min : 0x80;
      const high = k === 1 ? max : 0xbf;
      // The whole sequence is ill-formed: report where it starts.
      if (next === undefined || next < low || next > high) return index;
    }
    index += length;
  }
  return -1;
}

function lineAndColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < offset && index < text.length; index++) {
    if (text.charCodeAt(index) === 0x0a) {
      line++;
      lineStart = index + 1;
    }
  }
  return `line ${line} column ${offset - lineStart + 1}`;
}

/** Decodes UTF-8 strictly: a bad byte is an error naming its offset and line, never a silent U+FFFD. */
export function decodeUtf8Strict(
  bytes: Uint8Array,
): { ok: true; text: string } | { ok: false; problem: StrictJsonProblem } {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, bad));
    return {
      ok: false,
      problem: {
        path: '(root)',
        message: `not valid UTF-8: byte ${hex(bytes[bad] as number)} at byte offset ${bad} (${lineAndColumn(before, before.length)}); save the file as UTF-8`,
      },
    };
  }
  let text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  // The decoder drops a leading byte-order mark already; this covers text handed in directly.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { ok: true, text };
}

class JsonSyntaxProblem extends Error {
  constructor(
    readonly path: readonly PropertyKey[],
    message: string,
  ) {
    super(message);
  }
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Parser {
  private index = 0;
  private readonly path: PropertyKey[] = [];

  constructor(private readonly text: string) {}

  parse(): JsonValue {
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.index < this.text.length) this.fail(`unexpected ${this.describe()} after the document`);
    return value;
  }

  private fail(message: string, at = this.index): never {
    throw new JsonSyntaxProblem([...this.path], `${message} at ${lineAndColumn(this.text, at)}`);
  }

  private describe(): string {
    if (this.index >= this.text.length) return 'end of input';
    return `character ${JSON.stringify(this.text[this.index])}`;
  }

  private skipWhitespace(): void {
    while (this.index < this.text.length && WHITESPACE.has(this.text.charCodeAt(this.index))) this.index++;
  }

  private value(depth: number): JsonValue {
    if (depth > MAX_JSON_DEPTH) this.fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    const char = this.text[this.index];
    if (char === '{') return this.object(depth);
    if (char === '[') return this.array(depth);
    if (char === '"') return this.string();
    if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) return this.number();
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.index)) {
        this.index += word.length;
        return value;
      }
    }
    return this.fail(`expected a value, found ${this.describe()}`);
  }

  private object(depth: number): JsonObject {
    const result: JsonObject = Object.create(null);
    const firstAt = new Map<string, number>();
    this.index++;
    this.skipWhitespace();
    if (this.text[this.index] === '}') {
      this.index++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.index] !== '"')
        this.fail(`expected a key in double quotes, found ${this.describe()}`);
      const keyAt = this.index;
      const key = this.string();
      const first = firstAt.get(key);
      if (first !== undefined) {
        this.path.push(key);
        throw new JsonSyntaxProblem(
          [...this.path],
          `duplicate key: a second ${JSON.stringify(key)} at ${lineAndColumn(this.text, keyAt)} (the first is at ${lineAndColumn(this.text, first)}); a key may appear only once in an object`,
        );
      }
      firstAt.set(key, keyAt);
      this.skipWhitespace();
      if (this.text[this.index] !== ':') this.fail(`expected ":" after a key, found ${this.describe()}`);
      this.index++;
      this.skipWhitespace();
      this.path.push(key);
      // defineProperty, not assignment: no setter (inherited or not) ever sees an input key.
      Object.defineProperty(result, key, {
        value: this.value(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.path.pop();
      this.skipWhitespace();
      const next = this.text[this.index];
      this.index++;
      if (next === '}') return result;
      if (next !== ',')
        this.fail(`expected "," or "}" in an object, found ${this.describeAt(this.index - 1)}`);
    }
  }

  private describeAt(at: number): string {
    return at >= this.text.length ? 'end of input' : `character ${JSON.stringify(this.text[at])}`;
  }

  private array(depth: number): JsonValue[] {
    const result: JsonValue[] = [];
    this.index++;
    this.skipWhitespace();
    if (this.text[this.index] === ']') {
      this.index++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      this.path.push(result.length);
      result.push(this.value(depth + 1));
      this.path.pop();
      this.skipWhitespace();
      const next = this.text[this.index];
      this.index++;
      if (next === ']') return result;
      if (next !== ',')
        this.fail(`expected "," or "]" in an array, found ${this.describeAt(this.index - 1)}`);
    }
  }

  private number(): number {
    NUMBER.lastIndex = this.index;
    const match = NUMBER.exec(this.text);
    if (!match || match[0] === '-') this.fail('not a valid JSON number');
    this.index += match[0].length;
    return Number(match[0]);
  }

  private string(): string {
    const start = this.index;
    this.index++;
    let out = '';
    for (;;) {
      if (this.index >= this.text.length) this.fail('unterminated string', start);
      const code = this.text.charCodeAt(this.index);
      if (code === 0x22) {
        this.index++;
        return out;
      }
      if (code < 0x20) this.fail(`control character ${hex(code)} in a string (write it as an escape)`);
      if (code === 0x5c) {
        out += this.escape();
        continue;
      }
      if (code >= 0xd800 && code <= 0xdfff) {
        // Text decoded from UTF-8 never holds a lone surrogate, but text handed in directly might.
        const low = this.text.charCodeAt(this.index + 1);
        if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          out += this.text.slice(this.index, this.index + 2);
          this.index += 2;
          continue;
        }
        throw new JsonSyntaxProblem(
          [...this.path],
          `lone surrogate U+${code.toString(16).toUpperCase()} at ${lineAndColumn(this.text, this.index)}; text must be well-formed Unicode`,
        );
      }
      out += this.text[this.index];
      this.index++;
    }
  }

  private escape(): string {
    const at = this.index;
    const kind = this.text[this.index + 1];
    if (kind === undefined) this.fail('unterminated string');
    const simple = ESCAPES[kind];
    if (simple !== undefined && Object.hasOwn(ESCAPES, kind)) {
      this.index += 2;
      return simple;
    }
    if (kind !== 'u') this.fail(`invalid escape "\\${kind}"`);
    const code = this.hex4(this.index + 2);
    this.index += 6;
    if (code < 0xd800 || code > 0xdfff) return String.fromCharCode(code);
    if (code <= 0xdbff && this.text.startsWith('\\u', this.index)) {
      const low = this.hex4(this.index + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        this.index += 6;
        return String.fromCharCode(code, low);
      }
    }
    throw new JsonSyntaxProblem(
      [...this.path],
      `lone surrogate \\u${code.toString(16).padStart(4, '0')} at ${lineAndColumn(this.text, at)}; text must be well-formed Unicode (a character above U+FFFF is a pair, such as \\ud83d\\ude00)`,
    );
  }

  private hex4(at: number): number {
    const digits = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape: needs 4 hex digits', at - 2);
    return Number.parseInt(digits, 16);
  }
}

/** Parses JSON text strictly. Objects in the result have a null prototype. */
export function parseStrictJson(text: string): StrictJsonResult {
  try {
    return { ok: true, value: new Parser(text).parse(), text };
  } catch (error) {
    if (error instanceof JsonSyntaxProblem) {
      return { ok: false, problem: { path: formatPath(error.path), message: error.message } };
    }
    throw error;
  }
}

/** Bytes as read from a file or standard input: strict UTF-8, then strict JSON. */
export function parseStrictJsonBytes(bytes: Uint8Array): StrictJsonResult {
  const decoded = decodeUtf8Strict(bytes);
  if (!decoded.ok) return decoded;
  return parseStrictJson(decoded.text);
}
