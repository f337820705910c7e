/** One measured figure, printed next to the baseline measured in the same run. */
export interface BenchRow {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** A figure measured in the same run that `value` is compared with. */
  readonly baseline?: { readonly label: string; readonly value: number };
  /** The goal from the issue, e.g. `>= 5000` or `<= 1.15`. */
  readonly goal?: { readonly op: '>=' | '<='; readonly value: number };
}

export interface BenchSection {
  readonly title: string;
  readonly notes?: readonly string[];
  readonly rows: readonly BenchRow[];
}

export function meetsGoal(row: BenchRow): boolean | undefined {
  if (!row.goal) return undefined;
  return row.goal.op === '>=' ? row.value >= row.goal.value : row.value <= row.goal.value;
}

function fmt(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Renders a section as a Markdown table, so the output can be pasted into BENCHMARKS.md as printed. */
export function renderSection(section: BenchSection): string {
  const lines = [`### ${section.title}`, ''];
  for (const note of section.notes ?? []) lines.push(`- ${note}`);
  if (section.notes?.length) lines.push('');
  lines.push('| metric | value | baseline (same run) | ratio | goal | met |', '|---|---|---|---|---|---|');
  for (const row of section.rows) {
    const baseline = row.baseline ? `${row.baseline.label}: ${fmt(row.baseline.value)}` : '';
    const ratio =
      row.baseline && row.baseline.value !== 0 ? `${(row.value / row.baseline.value).toFixed(2)}x` : '';
    const goal = row.goal ? `${row.goal.op} ${fmt(row.goal.value)}` : '';
    const met = meetsGoal(row);
    lines.push(
      `| ${row.metric} | ${fmt(row.value)} ${row.unit} | ${baseline} | ${ratio} | ${goal} | ${met === undefined ? '' : met ? 'yes' : 'NO'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A positive number from the environment (a bench knob), or `fallback`; anything else is refused by name. */
export function positiveFromEnv(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}
