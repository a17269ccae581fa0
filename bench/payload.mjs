#!/usr/bin/env node
// Payload report: every file of dist/ with its raw, gzip -9 and brotli -q11 size, and the totals,
// against the budget the test suite enforces (bench/payload-budget.json).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { payloadSizes } from './sizes.mjs';

const repo = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`Usage: node bench/payload.mjs [DIST] [--json]

Lists every file under DIST (default: dist/, made by \`trunk build --release\`) with its raw,
gzip (level 9) and brotli (quality 11) size in bytes, then the totals and the gzip budget from
bench/payload-budget.json. --json prints the same as JSON.`);
  process.exit(0);
}
const dist = args.find((a) => !a.startsWith('--')) ?? `${repo}dist`;
if (!existsSync(dist)) {
  console.error(`${dist} is missing: run \`trunk build --release\` first`);
  process.exit(1);
}

const { files, total } = payloadSizes(dist);
const budget = JSON.parse(readFileSync(`${repo}bench/payload-budget.json`, 'utf8'));
if (args.includes('--json')) {
  console.log(JSON.stringify({ files, total, budget: budget.gzipBytes, goal: budget.goalBytes }, null, 2));
  process.exit(0);
}

const width = Math.max(...files.map((f) => f.path.length), 5);
const n = (v) => v.toLocaleString('en-US').padStart(11);
const row = (f) => `${f.path.padEnd(width)} ${n(f.raw)} ${n(f.gzip)} ${n(f.brotli)}`;
console.log(`${'file'.padEnd(width)} ${'raw'.padStart(11)} ${'gzip -9'.padStart(11)} ${'brotli -q11'.padStart(11)}`);
files.forEach((f) => console.log(row(f)));
console.log('-'.repeat(width + 36));
console.log(row(total));
console.log(`gzip budget ${budget.gzipBytes.toLocaleString('en-US')} B (test), goal ${budget.goalBytes.toLocaleString('en-US')} B;`
  + ` gzip total is ${(total.gzip / budget.goalBytes).toFixed(2)}× the goal`);
