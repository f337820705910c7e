import { BUCKETS, type BucketId, policySourceText, type ReportData } from './data';

/**
 * The tenant report as one self-contained HTML page: inline CSS and SVG, no script, no external resource,
 * so it can be mailed, attached to a ticket or opened offline. Every count is also in a data attribute, so a
 * test (or a scraper) reads the same numbers a person sees.
 */

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const BEFORE_COLOR = '#7f9cc4';
const AFTER_COLOR = '#e0793a';
/** Laid over the foot of a bar, translucent: the users of that bar whose expiry the plan changes. */
const CHANGED_COLOR = '#1d232b';

function chart(report: ReportData): string {
  const width = 760;
  const height = 300;
  const left = 48;
  const right = 16;
  const top = 28;
  const bottom = 44;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const most = Math.max(1, ...report.buckets.flatMap((bucket) => [bucket.before, bucket.after]));
  const step = niceStep(most);
  const max = Math.ceil(most / step) * step;
  const group = plotWidth / report.buckets.length;
  const barWidth = Math.min(36, group / 2 - 8);
  const y = (count: number) => top + plotHeight - (count / max) * plotHeight;
  const parts: string[] = [];
  for (let tick = 0; tick <= max; tick += step) {
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e3e6ea"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end" class="tick">${tick}</text>`,
    );
  }
  report.buckets.forEach((bucket, index) => {
    const center = left + group * index + group / 2;
    for (const [series, count, changed, color, x] of [
      ['before', bucket.before, bucket.changingBefore, BEFORE_COLOR, center - barWidth - 2],
      ['after', bucket.after, bucket.changedAfter, AFTER_COLOR, center + 2],
    ] as const) {
      const barHeight = (count / max) * plotHeight;
      const what = series === 'before' ? 'whose expiry the plan changes' : 'whose expiry the plan changed';
      parts.push(
        `<rect class="bar" data-bucket="${bucket.id}" data-series="${series}" data-count="${count}" x="${x}" y="${y(count)}" width="${barWidth}" height="${barHeight}" fill="${color}"><title>${escapeHtml(bucket.label)}, ${series} the plan: ${count} user(s)</title></rect>`,
        // The users the plan moves, shaded at the foot of the bar: a change that stays in its bucket shows too.
        `<rect class="changed" data-bucket="${bucket.id}" data-series="${series}" data-count="${changed}" x="${x}" y="${y(changed)}" width="${barWidth}" height="${(changed / max) * plotHeight}" fill="${CHANGED_COLOR}" fill-opacity="0.45"><title>${escapeHtml(bucket.label)}, ${series} the plan: ${changed} user(s) ${what}</title></rect>`,
        `<text class="count" data-bucket="${bucket.id}" data-series="${series}" x="${x + barWidth / 2}" y="${y(count) - 5}" text-anchor="middle">${count}</text>`,
      );
    }
    parts.push(
      `<text class="label" x="${center}" y="${height - bottom + 18}" text-anchor="middle">${escapeHtml(bucket.label)}</text>`,
    );
  });
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#8a9099"/>`,
    `<rect x="${left}" y="6" width="12" height="12" fill="${BEFORE_COLOR}"/><text x="${left + 18}" y="16" class="legend">before the plan</text>`,
    `<rect x="${left + 130}" y="6" width="12" height="12" fill="${AFTER_COLOR}"/><text x="${left + 148}" y="16" class="legend">after the plan</text>`,
    `<rect x="${left + 250}" y="6" width="12" height="12" fill="${CHANGED_COLOR}" fill-opacity="0.45"/><text x="${left + 268}" y="16" class="legend">users whose expiry changes (leaving, arriving or re-dated)</text>`,
  );
  return `<svg id="expiry-chart" role="img" aria-label="Users per expiry bucket, before and after the plan, with the users whose expiry changes shaded" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

/** 1, 2 or 5 times a power of ten, giving at most about five grid lines. */
function niceStep(most: number): number {
  const rough = most / 5;
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= rough) return Math.max(1, factor * power);
  return power * 10;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function calendar(report: ReportData): string {
  const most = Math.max(1, ...report.calendar.map((day) => day.count));
  const first = report.calendar[0];
  const offset = first ? (new Date(`${first.date}T00:00:00Z`).getUTCDay() + 6) % 7 : 0;
  const cells: string[] = WEEKDAYS.map((name) => `<div class="weekday">${name}</div>`);
  for (let pad = 0; pad < offset; pad++) cells.push('<div class="pad"></div>');
  report.calendar.forEach((day, index) => {
    const date = new Date(`${day.date}T00:00:00Z`);
    const dayOfMonth = date.getUTCDate();
    const label =
      index === 0 || dayOfMonth === 1 ? `${MONTHS[date.getUTCMonth()]} ${dayOfMonth}` : String(dayOfMonth);
    const level = day.count === 0 ? 0 : Math.min(4, Math.ceil((day.count / most) * 4));
    cells.push(
      `<div class="day level-${level}" data-date="${day.date}" data-count="${day.count}" title="${day.date}: ${day.count} user(s) expire"><span class="date">${label}</span>${day.count > 0 ? `<span class="n">${day.count}</span>` : ''}</div>`,
    );
  });
  return `<div id="expiry-calendar" class="calendar">${cells.join('')}</div>`;
}

function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  id: string,
  numeric: readonly number[] = [],
): string {
  const align = (index: number) => (numeric.includes(index) ? ' class="num"' : '');
  return `<table id="${id}"><thead><tr>${headers.map((header, index) => `<th${align(index)}>${escapeHtml(header)}</th>`).join('')}</tr></thead><tbody>${rows
    .map(
      (row) =>
        `<tr>${row.map((value, index) => `<td${align(index)}>${escapeHtml(value)}</td>`).join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
}

const LABEL = new Map<BucketId, string>(BUCKETS.map((bucket) => [bucket.id, bucket.label]));

/** Every change as a move from one bucket to another (or within one), beside the chart. */
function moves(report: ReportData): string {
  if (report.moves.length === 0) return '<p id="moves" data-count="0">No user changes expiry.</p>';
  const caption = '<p>Every change, from the bucket a user leaves to the one it lands in:</p>';
  return `${caption}${table(
    ['before', 'after', 'users'],
    report.moves.map((move) => [
      LABEL.get(move.from) ?? move.from,
      `${LABEL.get(move.to) ?? move.to}${move.from === move.to ? ' (same bucket, another date)' : ''}`,
      String(move.users),
    ]),
    'moves',
    [2],
  )}`;
}

const days = (value: number | null) => (value === null ? 'none' : `${value} d`);
const instant = (value: string | null) => (value === null ? 'never' : value.slice(0, 10));

export function renderReportHtml(report: ReportData): string {
  const { summary } = report;
  const verdict = summary.safety.wouldHold
    ? `<p id="safety" class="verdict hold" data-hold="true"><strong>Held for approval.</strong> A sync would hold the ${summary.shortening} shortening change(s): ${escapeHtml(summary.safety.reasons.join('; '))}. Apply them with <code>chime-lifecycle sync --tenant ${escapeHtml(report.tenantId)} --approve-shortening</code>.</p>`
    : '<p id="safety" class="verdict ok" data-hold="false"><strong>Within the safety caps.</strong> A sync would apply every change.</p>';
  const counts: [string, number][] = [
    ['users', summary.users],
    ['unchanged', summary.unchanged],
    ['set', summary.set],
    ['remove', summary.remove],
    ['shortening', summary.shortening],
    ['rescues', summary.rescues],
    ['unmanaged', summary.unmanaged],
    ['gone', summary.gone],
  ];
  const shortening =
    report.shortening.length === 0
      ? '<p>No change shortens an expiry.</p>'
      : table(
          ['user', 'current', 'desired', 'expires now', 'expires after', 'rule', 'reason'],
          report.shortening.map((change) => [
            change.appInstanceUserId,
            days(change.currentDays),
            days(change.desiredDays),
            instant(change.currentExpiresAt),
            instant(change.desiredExpiresAt),
            change.ruleId ?? change.source,
            change.reason,
          ]),
          'shortening',
        );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Expiration report: ${escapeHtml(report.tenantId)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232b; margin: 0; background: #f6f7f9; }
main { max-width: 820px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: #5b6470; margin: 0 0 16px; word-break: break-all; }
section { background: #fff; border: 1px solid #e1e4e8; border-radius: 8px; padding: 16px; margin-bottom: 16px; }
section > h2:first-child { margin-top: 0; }
.verdict { padding: 10px 12px; border-radius: 6px; margin: 0; }
.verdict.hold { background: #fff4e5; border: 1px solid #f0b46b; }
.verdict.ok { background: #e9f7ee; border: 1px solid #8fd1a5; }
.counts { display: grid; grid-template-columns: repeat(8, 1fr); gap: 8px; margin-top: 12px; }
.counts div { text-align: center; background: #f6f7f9; border-radius: 6px; padding: 6px 2px; }
.counts b { display: block; font-size: 18px; }
.counts span { color: #5b6470; font-size: 12px; }
svg text { font: 12px system-ui, sans-serif; fill: #1d232b; }
svg .tick { fill: #5b6470; font-size: 11px; }
svg .count { font-size: 11px; }
.calendar { display: grid; grid-template-columns: repeat(7, 1fr); gap: 4px; }
.calendar .weekday { text-align: center; font-size: 12px; color: #5b6470; }
.calendar .day { border-radius: 4px; min-height: 36px; padding: 2px 4px; font-size: 11px; position: relative; background: #f0f2f4; }
.calendar .day .date { color: #5b6470; }
.calendar .day .n { position: absolute; right: 5px; bottom: 2px; font-weight: 700; font-size: 13px; }
.calendar .level-1 { background: #fde3cf; }
.calendar .level-2 { background: #f8bf92; }
.calendar .level-3 { background: #ef9a5b; }
.calendar .level-4 { background: #e0793a; color: #fff; }
.calendar .level-4 .date { color: #fff; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e9ecef; }
th { color: #5b6470; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; background: #f0f2f4; padding: 1px 4px; border-radius: 3px; }
</style>
</head>
<body>
<main>
<h1>Expiration report: ${escapeHtml(report.tenantId)}</h1>
<p class="meta">AppInstance ${escapeHtml(report.appInstanceArn)} · <span id="policy-source" data-kind="${report.policySource.kind}">${escapeHtml(policySourceText(report.policySource))}</span> · generated ${escapeHtml(report.generatedAt)}</p>
<section>
<h2>Safety verdict</h2>
${verdict}
<div class="counts" id="counts">${counts.map(([name, count]) => `<div data-name="${name}" data-count="${count}"><b>${count}</b><span>${name}</span></div>`).join('')}</div>
</section>
<section>
<h2>Expiry distribution, before and after the plan</h2>
${chart(report)}
${moves(report)}
</section>
<section>
<h2>Expiries in the next ${report.calendar.length} days, after the plan</h2>
${calendar(report)}
</section>
<section>
<h2>Users per rule</h2>
${table(
  ['rule', 'expiration', 'users', 'changes', 'shortening'],
  report.rules.map((rule) => [
    rule.rule,
    rule.expiration,
    String(rule.users),
    String(rule.changes),
    String(rule.shortening),
  ]),
  'rules',
  [2, 3, 4],
)}
</section>
<section>
<h2>Shortening changes (${report.shortening.length})</h2>
${shortening}
</section>
</main>
</body>
</html>
`;
}
