// @ts-check
// Run times as text that claims no more than the clock can tell. performance.now() is coarse on a
// page that is not cross-origin isolated (Firefox and WebKit give whole milliseconds there), so
// one run's reading may be off by almost a tick. The mean of many readings is not biased: a clock
// that drops the fraction of its tick, read at a random point within a tick, reads a run too long
// as often as too short, and the mean's error shrinks as 1/√runs. Each figure gets only the
// decimals that the clock's resolution and the number of runs justify (tests/e2e/clock.test.mjs:
// within one unit of the last digit 9 times in 10); one that cannot be told from zero says "under".

/** The most decimals a time is printed with: hundredths of a millisecond. */
const MAX_DECIMALS = 2;

/** Readings after which a clock that has not moved counts as broken. */
const MAX_READS = 10_000_000;

/**
 * The smallest step between distinct successive readings of `now` (ms), over `steps` steps.
 * @param {() => number} now
 * @param {number} [steps]
 */
export function clockResolution(now, steps = 3) {
  let resolution = Infinity;
  let last = now();
  for (let reads = 0, seen = 0; seen < steps; reads += 1) {
    if (reads === MAX_READS) throw new Error(`the clock did not move in ${MAX_READS} readings`);
    const reading = now();
    if (reading > last) {
      resolution = Math.min(resolution, reading - last);
      last = reading;
      seen += 1;
    }
  }
  return resolution;
}

/**
 * `mean`, the mean time of `count` runs read on a clock of `resolution` (all ms), as text such as
 * "0.21 ms" or "under 1 ms".
 * @param {number} mean
 * @param {number} count
 * @param {number} resolution
 */
export function formatMean(mean, count, resolution) {
  if (!(Number.isFinite(mean) && mean >= 0)) throw new RangeError(`a mean time must be finite and at least 0, not ${mean}`);
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`a count of runs must be a whole number from 1, not ${count}`);
  if (!(Number.isFinite(resolution) && resolution > 0)) throw new RangeError(`a clock's resolution must be finite and above 0, not ${resolution}`);
  // One reading is off by less than a tick; over `count` runs the errors shrink as 1/√count.
  const uncertainty = resolution / Math.sqrt(count);
  // The last digit printed is no finer than the uncertainty (the epsilon keeps 0.1 at 1 decimal).
  const decimals = Math.min(MAX_DECIMALS, Math.max(0, Math.floor(1e-9 - Math.log10(uncertainty))));
  const unit = 10 ** -decimals;
  if (mean <= Math.max(uncertainty, unit)) {
    return `under ${(Math.ceil((mean + uncertainty) / unit - 1e-9) * unit).toFixed(decimals)} ms`;
  }
  return `${mean.toFixed(decimals)} ms`;
}

/**
 * A meter of one model's run times on a clock of `resolution` ms. A model's first run also pays
 * for its set-up: it is shown on its own, and the mean is of the runs after it.
 * @param {number} resolution
 */
export function createRunMeter(resolution) {
  let warmedUp = false;
  let sum = 0;
  let count = 0;
  return {
    /**
     * Adds a run of `ms`; returns the text for the runs so far.
     * @param {number} ms
     */
    add(ms) {
      if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`a run time must be finite and at least 0, not ${ms}`);
      if (!warmedUp) {
        warmedUp = true;
        return `${formatMean(ms, 1, resolution)} (first run)`;
      }
      sum += ms;
      count += 1;
      return `${formatMean(sum / count, count, resolution)} (${count === 1 ? 'one run' : `mean of ${count} runs`} after the first)`;
    },
    /** Forgets every run: the next one is a new model's first. */
    reset() {
      warmedUp = false;
      sum = 0;
      count = 0;
    },
  };
}
