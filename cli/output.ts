/**
 * Everything the CLI prints that came from outside (a file, a queue message, a stored document, Chime, a flag
 * value) goes through `escapeControl`, so no such value can drive the operator's terminal: clear the screen,
 * move the cursor, set the title, write the clipboard (OSC 52), or make one text look like another.
 *
 * Escaped, as `\xNN`, `\uNNNN` or `\u{NNNNN}` (the code point, so the original is recoverable):
 * - control characters, General_Category Cc: C0 (U+0000..U+001F, ESC among them), DEL (U+007F) and C1
 *   (U+0080..U+009F, whose CSI and OSC some terminals obey as they do ESC [ and ESC ]);
 * - format characters, Cf: invisible by definition. The bidi embeddings, overrides and isolates
 *   (U+202A..U+202E, U+2066..U+2069, the "Trojan Source" characters) reorder what is shown; the zero-width
 *   space, joiners and word joiner (U+200B..U+200D, U+2060), the BOM (U+FEFF) and the tag characters
 *   (U+E0000..U+E007F) make two different ids look alike or hide text. An emoji built with a zero-width
 *   joiner is printed as its parts: readable, and never a disguise;
 * - the line and paragraph separators (U+2028, U+2029) and lone surrogates (never valid text).
 * Printable text, including every other non-ASCII letter, is left alone. Backslashes are not escaped, so the
 * function is idempotent: a value escaped where it is interpolated and again where the line is printed
 * reads the same.
 *
 * Hand-written (a regular expression over Unicode properties) rather than a dependency: the maintained
 * strip-ansi style packages remove escape sequences (losing what was there) and know nothing of C1 or bidi.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const UNSAFE_EXCEPT_NEWLINE = /(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

function escapeCodePoint(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

export interface EscapeOptions {
  /** Keep `\n` as a line break (a message of several lines we wrote); every other control is escaped. */
  readonly keepNewlines?: boolean;
}

/** The text with every control, format, separator and lone-surrogate character escaped (see above). */
export function escapeControl(text: string, options: EscapeOptions = {}): string {
  return text.replace(options.keepNewlines ? UNSAFE_EXCEPT_NEWLINE : UNSAFE, escapeCodePoint);
}

/** How many characters of a bad input an error quotes. */
export const QUOTED_INPUT_CHARACTERS = 40;

/**
 * A value from outside as an error message quotes it: escaped, in double quotes, and cut to its first
 * `max` characters (code points) with its length when it is longer, so a 5,000-character input is one short
 * line: `"aaaa…" (5000 characters)`.
 */
export function quoteInput(value: string, max: number = QUOTED_INPUT_CHARACTERS): string {
  const characters = [...value];
  if (characters.length <= max) return `"${escapeControl(value)}"`;
  return `"${escapeControl(characters.slice(0, max).join(''))}…" (${characters.length} characters)`;
}

/**
 * A message written elsewhere that quotes inputs as JSON string literals (a policy problem's path names an
 * unknown key as `["…"]`): every literal longer than `max` characters is cut as `quoteInput` cuts a value.
 */
export function clipQuotedInputs(text: string, max: number = QUOTED_INPUT_CHARACTERS): string {
  return text.replace(/"(?:[^"\\]|\\.)*"/g, (literal) => {
    let value: unknown;
    try {
      value = JSON.parse(literal);
    } catch {
      return literal;
    }
    return typeof value === 'string' && [...value].length > max ? quoteInput(value, max) : literal;
  });
}

/** A value shown in a listing: escaped, and cut to `max` characters with its length when it is longer. */
export function clipText(value: string, max: number): string {
  const characters = [...value];
  if (characters.length <= max) return escapeControl(value);
  return `${escapeControl(characters.slice(0, max).join(''))}… (${characters.length} characters)`;
}

/**
 * JSON.stringify escapes C0 controls and lone surrogates but writes DEL, C1, format characters and U+2028/9
 * as they are. These only ever occur inside JSON strings, where `\uNNNN` is the same value: the document
 * parses to exactly what it did, and nothing in it reaches the terminal raw.
 */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\u2028\u2029]/gu;

export function safeJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, null, indent).replace(JSON_UNSAFE, (character) =>
    [...character]
      .flatMap((point) => {
        const code = point.codePointAt(0) ?? 0;
        return code <= 0xffff
          ? [code]
          : [0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff)];
      })
      .map((unit) => `\\u${unit.toString(16).padStart(4, '0')}`)
      .join(''),
  );
}

/** Machine-readable output: one JSON document on stdout, with nothing in it a terminal would obey. */
export function printJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`);
}

/** One line (or several, joined by `\n`) for people on stdout, with outside text escaped. */
export function printLine(line = ''): void {
  process.stdout.write(`${escapeControl(line, { keepNewlines: true })}\n`);
}

/** The same on stderr (warnings, notes about files written). */
export function printNote(line: string): void {
  process.stderr.write(`${escapeControl(line, { keepNewlines: true })}\n`);
}
