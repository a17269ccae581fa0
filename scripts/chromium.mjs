// Debian's Chromium, as the browser tests and benches start it.

/** Debian's Chromium (apt-get install chromium, done by scripts/setup). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Chromium as root in a sandbox with no outside network: these flags stop its own background
 * connections, which would otherwise fail (and count as requests leaving the origin).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];
