/** One measured figure, printed next to the baseline measured in the same run. */
export interface BenchRow {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** A figure measured in the same run that `value` is compared with. */
  readonly baseline?: { readonly label: string; readonly value: number };
  /** The goal from the issue, e.g. `>= 5000` or `<= 1.15`. */
  readonly goal?: { readonly op: '>=' | '<='; readonly value: number };
  /**
   * What bound the figure (issue 24): the quota's bound and this machine's ceiling for the same work, both
   * measured in the same run. A row whose quota does not bind (quotaBinds) is printed "machine-bound" and its
   * goal is not judged: its ratio says how fast the machine is, not how well the product uses the quota.
   */
  readonly bounds?: Bounds;
}

/**
 * The two bounds of a figure. `rate`: the most per second (creates/s, calls/s), the quota's and the ceiling's;
 * `seconds`: the least time, the quota's lower bound and the ceiling's (the same work with the quotas lifted).
 */
export interface Bounds {
  readonly kind: 'rate' | 'seconds';
  readonly quota: number;
  readonly ceiling: number;
  readonly unit: string;
}

/**
 * The quota binds only with room to spare: at most half the ceiling's rate (a least time at least twice the
 * ceiling's). Nearer than that the machine shares the bound (every fixed cost of the stack weighs on the run),
 * so a ratio there would measure the machine again (issue 24: 1.06 on one 2-core machine, 1.24 on another).
 */
export const CEILING_MARGIN = 2;

export function quotaBinds(bounds: Bounds): boolean {
  return bounds.kind === 'rate'
    ? bounds.quota * CEILING_MARGIN <= bounds.ceiling
    : bounds.quota >= bounds.ceiling * CEILING_MARGIN;
}

/** What a ratio is computed against: min(quota, ceiling) of a rate, max of a least time. */
export function effectiveBound(bounds: Bounds): number {
  return bounds.kind === 'rate'
    ? Math.min(bounds.quota, bounds.ceiling)
    : Math.max(bounds.quota, bounds.ceiling);
}

/** The rows whose quota does not bind, by metric (reported as such, not as a pass or a miss). */
export function machineBound(row: BenchRow): boolean {
  return row.bounds !== undefined && !quotaBinds(row.bounds);
}

export interface BenchSection {
  readonly title: string;
  readonly notes?: readonly string[];
  readonly rows: readonly BenchRow[];
}

export function meetsGoal(row: BenchRow): boolean | undefined {
  if (!row.goal || machineBound(row)) return undefined;
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
    const baseline = row.bounds
      ? boundsCell(row.bounds)
      : row.baseline
        ? `${row.baseline.label}: ${fmt(row.baseline.value)}`
        : '';
    const ratio =
      !row.bounds && row.baseline && row.baseline.value !== 0
        ? `${(row.value / row.baseline.value).toFixed(2)}x`
        : '';
    const goal = row.goal ? `${row.goal.op} ${fmt(row.goal.value)}` : '';
    const met = meetsGoal(row);
    const verdict = machineBound(row) ? 'machine-bound' : met === undefined ? '' : met ? 'yes' : 'NO';
    lines.push(
      `| ${row.metric} | ${fmt(row.value)} ${row.unit} | ${baseline} | ${ratio} | ${goal} | ${verdict} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The baseline cell of a bounded row: both bounds, and which one bound the run. */
function boundsCell(bounds: Bounds): string {
  const binding = quotaBinds(bounds) ? 'the quota binds' : 'the machine binds';
  return `quota ${fmt(bounds.quota)} ${bounds.unit}, ceiling ${fmt(bounds.ceiling)} ${bounds.unit}: ${binding}`;
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
