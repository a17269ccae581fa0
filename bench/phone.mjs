// A phone on a slow network, for the demo's cold start (`bench/browser --network PROFILE`):
// the profiles for Chromium's network emulation and CPU slowdown (bench/bare-chromium.mjs applies
// them), and the floor that the requests the first reconstruction waited for set.

/**
 * Issue #17's profiles: download bandwidth, round trip, and the CPU slowdown of a phone. Chromium
 * adds the round trip to every request and shares the bandwidth between the requests in flight.
 */
export const NETWORK_PROFILES = {
  'slow-4g': { downloadBitsPerS: 9e6, uploadBitsPerS: 750e3, rttMs: 150, cpuSlowdown: 4 },
  'fast-3g': { downloadBitsPerS: 1.6e6, uploadBitsPerS: 750e3, rttMs: 400, cpuSlowdown: 4 },
};

/**
 * The least time `requests` can take on `profile`: all their bytes at its bandwidth, plus one
 * round trip per step of the longest request chain. A request is one step after the one its
 * Referer names, and after any other request of that referer sent a round trip or more before it,
 * which it waited for (the static imports a module's code waits for before it runs); the
 * document is step 1.
 * @param {{ url: string, referer: string | null, bytes: number, sentMs: number }[]} requests
 * @param {{ downloadBitsPerS: number, rttMs: number }} profile
 */
export function floorOf(requests, { downloadBitsPerS, rttMs }) {
  const bySending = [...requests].sort((a, b) => a.sentMs - b.sentMs);
  /** @type {Map<string, number>} */
  const stepOfUrl = new Map();
  /** @type {number[]} */
  const steps = [];
  bySending.forEach((response, i) => {
    const waitedFor = bySending.slice(0, i)
      .map((earlier, j) => ({ earlier, step: steps[j] }))
      .filter(({ earlier }) => earlier.referer === response.referer && earlier.sentMs <= response.sentMs - rttMs)
      .map(({ step }) => step);
    const parent = response.referer === null ? 0 : (stepOfUrl.get(response.referer) ?? 0);
    const step = 1 + Math.max(parent, ...waitedFor);
    steps.push(step);
    if (!stepOfUrl.has(response.url)) stepOfUrl.set(response.url, step);
  });
  const bytes = bySending.reduce((sum, r) => sum + r.bytes, 0);
  const chainSteps = Math.max(0, ...steps);
  return { bytes, chainSteps, floorMs: (bytes * 8 * 1000) / downloadBitsPerS + chainSteps * rttMs };
}
