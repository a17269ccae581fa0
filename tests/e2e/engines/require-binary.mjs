// A missing browser fails the tests with the fix, instead of skipping them.
import { existsSync } from 'node:fs';

/** Throws, naming scripts/setup, when the executable `path` (the engine `what`) is not installed. */
export function requireBinary(path, what) {
  if (!existsSync(path)) {
    throw new Error(`${what} is not installed (${path} is missing): run scripts/setup, which installs it`);
  }
}
