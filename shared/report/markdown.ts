import { BUCKETS, type BucketId, policySourceText, type ReportData } from './data';

/** How many shortening changes the markdown lists before "and N more" (a PR comment should stay short). */
export const MARKDOWN_SHORTENING_LIMIT = 20;

const BAR_WIDTH = 20;

function days(value: number | null): string {
  return value === null ? 'none' : `${value} d`;
}

/** Markdown table cells: a pipe or a newline in a value would break the table. */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

/** A summary of a plan fit for a pull-request comment: counts, held or not, shortening changes, histogram. */
export function renderPlanMarkdown(report: ReportData): string {
  const { summary } = report;
  const lines: string[] = [];
  lines.push(`### Expiration plan for tenant \`${report.tenantId}\``);
  lines.push('');
  lines.push(
    `AppInstance \`${report.appInstanceArn}\` · ${cell(policySourceText(report.policySource))} · generated ${report.generatedAt}`,
  );
  lines.push('');
  lines.push(
    summary.safety.wouldHold
      ? `**Held for approval:** a sync would hold the ${summary.shortening} shortening change(s) (${summary.safety.reasons.join('; ')}). Apply them with \`chime-lifecycle sync --tenant ${report.tenantId} --approve-shortening\`.`
      : '**Within the safety caps:** a sync would apply every change.',
  );
  lines.push('');
  lines.push('| users | unchanged | set | remove | shortening | rescues | unmanaged | gone |');
  lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  lines.push(
    `| ${summary.users} | ${summary.unchanged} | ${summary.set} | ${summary.remove} | ${summary.shortening} | ${summary.rescues} | ${summary.unmanaged} | ${summary.gone} |`,
  );
  lines.push('');
  lines.push('Expiry distribution, before → after:');
  lines.push('');
  lines.push('```text');
  const most = Math.max(1, ...report.buckets.flatMap((bucket) => [bucket.before, bucket.after]));
  const bar = (count: number) => {
    const length = count === 0 ? 0 : Math.max(1, Math.round((count / most) * BAR_WIDTH));
    return '█'.repeat(length).padEnd(BAR_WIDTH, ' ');
  };
  for (const bucket of report.buckets) {
    const changed = bucket.changedAfter > 0 ? `  (${bucket.changedAfter} changed)` : '';
    lines.push(
      `${bucket.label.padEnd(8)} ${String(bucket.before).padStart(6)} ${bar(bucket.before)} → ${String(bucket.after).padStart(6)} ${bar(bucket.after)}${changed}`.trimEnd(),
    );
  }
  lines.push('```');
  lines.push('');
  lines.push(...movesMarkdown(report));
  if (report.shortening.length === 0) {
    lines.push('No change shortens an expiry.');
  } else {
    lines.push(`Shortening changes (${report.shortening.length}):`);
    lines.push('');
    lines.push('| user | current | desired | rule | reason |');
    lines.push('|---|---:|---:|---|---|');
    for (const change of report.shortening.slice(0, MARKDOWN_SHORTENING_LIMIT)) {
      lines.push(
        `| \`${cell(change.appInstanceUserId)}\` | ${days(change.currentDays)} | ${days(change.desiredDays)} | ${cell(change.ruleId ?? change.source)} | ${cell(change.reason)} |`,
      );
    }
    if (report.shortening.length > MARKDOWN_SHORTENING_LIMIT) {
      lines.push('');
      lines.push(
        `…and ${report.shortening.length - MARKDOWN_SHORTENING_LIMIT} more (\`chime-lifecycle plan --tenant ${report.tenantId} --json\` lists them all).`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

const LABEL = new Map<BucketId, string>(BUCKETS.map((bucket) => [bucket.id, bucket.label]));

/** Every change as a move between buckets, so a change that stays inside one bucket still shows. */
function movesMarkdown(report: ReportData): string[] {
  if (report.moves.length === 0) return ['No user changes expiry.', ''];
  return [
    'Every change, from the bucket a user leaves to the one it lands in:',
    '',
    '| before | after | users |',
    '|---|---|---:|',
    ...report.moves.map(
      (move) =>
        `| ${LABEL.get(move.from)} | ${LABEL.get(move.to)}${move.from === move.to ? ' (same bucket, another date)' : ''} | ${move.users} |`,
    ),
    '',
  ];
}
