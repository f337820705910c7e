/**
 * An aligned text table with a header row, for people; `--json` is the format for programs. Columns are
 * padded to their widest cell (counted in code points); the last column is not padded, so lines carry no
 * trailing spaces. Numeric columns are right-aligned.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: { readonly rightAlign?: readonly number[]; readonly indent?: string } = {},
): string {
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
