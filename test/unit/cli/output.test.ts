import { describe, expect, it } from 'vitest';
import { clipQuotedInputs, clipText, escapeControl, quoteInput, safeJson } from '../../../cli/output';
import { formatTable } from '../../../cli/table';

/** Every character a terminal may obey or that hides or reorders text: none may survive escaping. */
const DANGEROUS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

describe('escapeControl', () => {
  // [case, input, escaped]
  it.each<[string, string, string]>([
    ['plain ASCII is unchanged', 'guest-1 acme.v2_x', 'guest-1 acme.v2_x'],
    ['letters beyond ASCII are unchanged', 'Zoë 日本 ünïcødé', 'Zoë 日本 ünïcødé'],
    ['an emoji is unchanged', 'ok 👍', 'ok 👍'],
    ['ESC of a clear-screen sequence', 'a\u001b[2Jb', 'a\\x1b[2Jb'],
    ['an OSC 52 clipboard write, BEL-terminated', '\u001b]52;c;ZXZpbA==\u0007', '\\x1b]52;c;ZXZpbA==\\x07'],
    ['NUL, backspace, CR, tab, newline', '\u0000\b\r\t\n', '\\x00\\x08\\x0d\\x09\\x0a'],
    ['DEL', 'x\u007fy', 'x\\x7fy'],
    ['C1 CSI and OSC (obeyed by some terminals)', '\u009b2J\u009d0;t\u009c', '\\x9b2J\\x9d0;t\\x9c'],
    ['right-to-left override (Trojan Source)', 'user\u202eexe.txt', 'user\\u202eexe.txt'],
    ['bidi isolates and marks', '\u2066a\u2069\u200f\u061c', '\\u2066a\\u2069\\u200f\\u061c'],
    [
      'zero-width space, joiners, word joiner, BOM',
      'a\u200bb\u200cc\u200dd\u2060e\ufeff',
      'a\\u200bb\\u200cc\\u200dd\\u2060e\\ufeff',
    ],
    ['line and paragraph separators', 'a\u2028b\u2029c', 'a\\u2028b\\u2029c'],
    ['soft hyphen', 'ad\u00admin', 'ad\\xadmin'],
    ['tag characters (hidden text)', 'hi\u{e0041}\u{e0042}', 'hi\\u{e0041}\\u{e0042}'],
    ['a lone surrogate', 'a\ud800b', 'a\\ud800b'],
    ['a backslash stays as it is', 'C:\\path\\x1b', 'C:\\path\\x1b'],
  ])('%s', (_case, input, escaped) => {
    expect(escapeControl(input)).toBe(escaped);
    expect(escapeControl(input)).not.toMatch(DANGEROUS);
    // Idempotent: escaping twice (at the value and at the line) changes nothing more.
    expect(escapeControl(escapeControl(input))).toBe(escaped);
  });

  it('keeps line breaks of a message we wrote when asked, escaping every other control', () => {
    expect(escapeControl('line 1\nline\u001b[31m 2\r', { keepNewlines: true })).toBe(
      'line 1\nline\\x1b[31m 2\\x0d',
    );
  });
});

describe('quoteInput and clipText', () => {
  it('quotes a short input whole, escaped', () => {
    expect(quoteInput('ac\u001bme')).toBe('"ac\\x1bme"');
  });

  it('quotes a 5,000-character input as a 40-character escaped prefix and its length', () => {
    const quoted = quoteInput(`\u001b[2J${'x'.repeat(4_996)}`);
    expect(quoted).toBe(`"\\x1b[2J${'x'.repeat(36)}…" (5000 characters)`);
    expect(quoted.length).toBeLessThan(80);
  });

  it('counts and cuts by code point, never splitting a surrogate pair', () => {
    const quoted = quoteInput('😀'.repeat(50));
    expect(quoted).toBe(`"${'😀'.repeat(40)}…" (50 characters)`);
  });

  it('cuts the long JSON string literals a message quotes, leaving short ones and the rest as they are', () => {
    const key = `\u001b[2J${'k'.repeat(4_996)}`;
    const line = `[${JSON.stringify(key)}]: unknown key (allowed: "tenantId", "rules")`;
    expect(clipQuotedInputs(line)).toBe(
      `["\\x1b[2J${'k'.repeat(36)}…" (5000 characters)]: unknown key (allowed: "tenantId", "rules")`,
    );
    expect(clipQuotedInputs('rules[0].id: must be 1..64 characters')).toBe(
      'rules[0].id: must be 1..64 characters',
    );
  });

  it('clips a listed value to its width, escaped', () => {
    expect(clipText('abc', 5)).toBe('abc');
    expect(clipText('a\u202ebcdefgh', 4)).toBe('a\\u202ebc… (9 characters)');
  });
});

describe('safeJson', () => {
  it('escapes DEL, C1, format characters and separators as \\u escapes, and parses back to the same value', () => {
    const value = {
      reason: 'x\u009b2J\u202e\u2028\u007f\u{e0041}',
      owner: '\u001b]52;c;AA==\u0007',
      plain: 'Zoë 👍',
    };
    const text = safeJson(value);
    expect(text.replace(/\n/g, '')).not.toMatch(DANGEROUS);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).toContain('\\u009b');
    expect(text).toContain('\\udb40\\udc41');
    expect(text).toContain('Zoë 👍');
  });
});

describe('formatTable', () => {
  it('escapes every cell, so a newline or an escape sequence neither breaks a row nor reaches the terminal', () => {
    const table = formatTable(
      ['ID', 'REASON'],
      [
        ['e-1', 'pilot\nFAKE ROW'],
        ['e-2', '\u001b[2Jcleared'],
      ],
    );
    const lines = table.split('\n');
    expect(lines).toEqual(['ID   REASON', 'e-1  pilot\\x0aFAKE ROW', 'e-2  \\x1b[2Jcleared']);
    expect(table.replace(/\n/g, '')).not.toMatch(DANGEROUS);
  });
});
