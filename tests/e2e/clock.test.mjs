// www/clock.js: the page's run times on a coarse clock, simulated here as Firefox's and WebKit's
// performance.now() is without cross-origin isolation: it drops the fraction of each whole
// millisecond. The figures must say no more than such readings can tell, and converge on the
// true time as the runs add up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clockResolution, createRunMeter, formatMean } from '../../www/clock.js';

/** A deterministic generator of numbers in [0, 1) (mulberry32), so that every run sees the same phases. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What a clock of `tick` ms reads for a run of `trueMs` started at a random point of a tick: the
 * difference of the two floored readings.
 */
function coarseReading(trueMs, tick, next) {
  const start = 1000 + next() * tick;
  return Math.floor((start + trueMs) / tick) * tick - Math.floor(start / tick) * tick;
}

test('the resolution is the smallest step of the clock', () => {
  let time = 0;
  const wholeMs = () => Math.floor((time += 0.0003));
  assert.equal(clockResolution(wholeMs), 1);
  let fine = 0;
  assert.ok(Math.abs(clockResolution(() => (fine += 0.005)) - 0.005) < 1e-12);
  // A clock that ticks unevenly: its finest step counts.
  const steps = [0, 0.2, 0.2, 0.3, 0.3, 0.3, 0.4];
  let i = 0;
  assert.ok(Math.abs(clockResolution(() => steps[Math.min(i++, steps.length - 1)]) - 0.1) < 1e-12);
});

test('a clock that never moves is an error, not a resolution', () => {
  assert.throws(() => clockResolution(() => 7), /the clock did not move/);
});

test('one reading of a whole-millisecond clock gets no decimals, and a short one is "under"', () => {
  assert.equal(formatMean(0, 1, 1), 'under 1 ms');
  // A 1 ms reading may be any time from just above 0 to just under 2 ms.
  assert.equal(formatMean(1, 1, 1), 'under 2 ms');
  assert.equal(formatMean(3, 1, 1), '3 ms');
  assert.equal(formatMean(49, 1, 1), '49 ms');
});

test('decimals follow the resolution and the number of runs, up to hundredths', () => {
  // Chromium's clock without isolation: a tenth of a millisecond.
  assert.equal(formatMean(1.8, 1, 0.1), '1.8 ms');
  assert.equal(formatMean(0.2345, 100, 0.1), '0.23 ms');
  // A whole-millisecond clock: tenths once 100 runs average out its ticks, hundredths at 10,000.
  assert.equal(formatMean(0.3, 99, 1), 'under 1 ms');
  assert.equal(formatMean(0.3, 100, 1), '0.3 ms');
  assert.equal(formatMean(0.3012, 10_000, 1), '0.30 ms');
  assert.equal(formatMean(2.4, 30, 1), '2 ms');
  // A fine clock never gets more than hundredths.
  assert.equal(formatMean(0.21234, 1, 0.000_005), '0.21 ms');
  assert.equal(formatMean(0.004, 1, 0.000_005), 'under 0.01 ms');
});

test('bad figures are errors', () => {
  assert.throws(() => formatMean(Number.NaN, 1, 1), /mean time must be finite/);
  assert.throws(() => formatMean(-1, 1, 1), /mean time must be finite and at least 0/);
  assert.throws(() => formatMean(1, 0, 1), /count of runs must be a whole number from 1/);
  assert.throws(() => formatMean(1, 2.5, 1), /count of runs/);
  assert.throws(() => formatMean(1, 1, 0), /resolution must be finite and above 0/);
  assert.throws(() => createRunMeter(1).add(Number.POSITIVE_INFINITY), /run time must be finite/);
});

test('on a whole-millisecond clock the meter shows the first run alone and no decimals before 100 runs', () => {
  const next = random(14);
  const meter = createRunMeter(1);
  // The first run pays for the model's set-up and is shown on its own.
  assert.equal(meter.add(coarseReading(25.4, 1, next)), '25 ms (first run)');
  const texts = [];
  for (let run = 1; run <= 100; run += 1) texts.push(meter.add(coarseReading(0.3, 1, next)));
  // Until 100 runs, a whole-millisecond clock cannot tell 0.3 ms from nothing.
  for (const text of texts.slice(0, 99)) assert.match(text, /^under [12] ms \((one run|mean of \d+ runs) after the first\)$/);
  assert.match(texts[99], /^0\.\d ms \(mean of 100 runs after the first\)$/);
  // Once reset, the next run is a new model's first again.
  meter.reset();
  assert.equal(meter.add(2), '2 ms (first run)');
  assert.equal(meter.add(0), 'under 1 ms (one run after the first)');
});

test('on a whole-millisecond clock the mean lies within one unit of its last digit 9 times in 10, and never more than 2 off', () => {
  for (const trueMs of [0.05, 0.3, 2.37]) {
    for (const count of [1, 100, 10_000]) {
      let within = 0;
      let figures = 0;
      for (let seed = 1; seed <= 400; seed += 1) {
        const next = random(seed * 7919 + count);
        let sum = 0;
        for (let run = 0; run < count; run += 1) sum += coarseReading(trueMs, 1, next);
        const text = formatMean(sum / count, count, 1);
        const under = text.match(/^under ([\d.]+) ms$/);
        if (under) {
          assert.ok(trueMs < Number(under[1]), `${trueMs} ms over ${count} runs: "${text}"`);
          continue;
        }
        const [, figure, decimals = ''] = /** @type {RegExpMatchArray} */ (text.match(/^(\d+(?:\.(\d+))?) ms$/));
        const error = Math.abs(Number(figure) - trueMs) / 10 ** -decimals.length;
        assert.ok(error <= 2 + 1e-9, `${trueMs} ms over ${count} runs: "${text}" is ${error.toFixed(2)} units off`);
        figures += 1;
        if (error <= 1 + 1e-9) within += 1;
      }
      assert.ok(within >= 0.9 * figures, `${trueMs} ms over ${count} runs: ${within} of ${figures} within one unit`);
    }
  }
});
