import { escapeControl } from './output';

/**
 * An aligned text table with a header row, for people; `--json` is the format for programs. Columns are
 * padded to their widest cell (counted in code points); the last column is not padded, so lines carry no
 * trailing spaces. Numeric columns are right-aligned. Every cell is escaped (`escapeControl`): cells hold
 * outside text (ids, exemption reasons and owners), and a newline or an escape sequence in one would break
 * the table or drive the terminal.
 */
export function formatTable(
  rawHeaders: readonly string[],
  rawRows: readonly (readonly string[])[],
  options: { readonly rightAlign?: readonly number[]; readonly indent?: string } = {},
): string {
  const headers = rawHeaders.map((header) => escapeControl(header));
  const rows = rawRows.map((row) => row.map((cell) => escapeControl(cell)));
  const width = (text: string) => [...text].length;
  const widths = headers.map((header, column) =>
    Math.max(width(header), ...rows.map((row) => width(row[column] ?? ''))),
  );
  const right = new Set(options.rightAlign ?? []);
  const line = (cells: readonly string[]) =>
    (options.indent ?? '') +
    cells
      .map((cell, column) => {
        const pad = ' '.repeat((widths[column] ?? 0) - width(cell));
        if (right.has(column)) return pad + cell;
        return column === cells.length - 1 ? cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
