// The demo's cold starts as a picture: every sample of each build on one time axis, its median,
// and the cold-start bar, so that the margin (or the miss) shows at a glance. bench/browser --svg.

/** The cold-start bar (issue #17), which bench/browser judges its median by. */
export const BAR_MS = 250;
const WIDTH = 720;
const RIGHT = 20;
const ROW = 56;
const TOP = 62;

const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * An SVG document: one row per entry of `rows` ({ label, samples (ms), median (ms) }), under
 * `title` and a smaller `subtitle`. Samples are jittered vertically (deterministically) so that
 * equal times stay visible.
 */
export function coldStartSvg(rows, title, subtitle) {
  const longest = Math.max(BAR_MS, ...rows.flatMap((r) => r.samples));
  const maxMs = Math.ceil((longest * 1.05) / 50) * 50;
  const left = 24 + 7 * Math.max(...rows.map((r) => r.label.length)); // room for the row labels
  const x = (ms) => left + ((WIDTH - left - RIGHT) * ms) / maxMs;
  const height = TOP + rows.length * ROW + 36;
  const axisY = TOP + rows.length * ROW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" fill="#1d2433">${escape(title)}</text>`,
    `<text x="10" y="38" fill="#5b6578">${escape(subtitle)}</text>`,
  ];
  for (let ms = 0; ms <= maxMs; ms += 50) {
    parts.push(`<line x1="${x(ms)}" y1="${TOP - 8}" x2="${x(ms)}" y2="${axisY}" stroke="#e6e9ef"/>`,
      `<text x="${x(ms)}" y="${axisY + 16}" text-anchor="middle" fill="#5b6578">${ms}</text>`);
  }
  parts.push(`<text x="${WIDTH - RIGHT}" y="${axisY + 32}" text-anchor="end" fill="#5b6578">ms from navigation to the first reconstruction shown</text>`);
  rows.forEach((row, i) => {
    const mid = TOP + i * ROW + ROW / 2;
    parts.push(`<text x="${left - 10}" y="${mid + 4}" text-anchor="end" fill="#1d2433">${escape(row.label)}</text>`);
    row.samples.forEach((ms, k) => {
      const jitter = (((k * 37) % 17) / 16 - 0.5) * (ROW * 0.5);
      parts.push(`<circle cx="${x(ms).toFixed(1)}" cy="${(mid + jitter).toFixed(1)}" r="3" fill="#2f5fd0" fill-opacity="0.45"/>`);
    });
    parts.push(`<line x1="${x(row.median)}" y1="${mid - ROW * 0.38}" x2="${x(row.median)}" y2="${mid + ROW * 0.38}" stroke="#1d2433" stroke-width="2"/>`,
      `<text x="${x(row.median) + 4}" y="${mid - ROW * 0.3}" fill="#1d2433">median ${row.median.toFixed(0)}</text>`);
  });
  parts.push(`<line x1="${x(BAR_MS)}" y1="${TOP - 8}" x2="${x(BAR_MS)}" y2="${axisY}" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5 3"/>`,
    `<text x="${x(BAR_MS) + 4}" y="${TOP - 10}" fill="#c0392b">bar ${BAR_MS} ms</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}
