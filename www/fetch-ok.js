// @ts-check

/**
 * The error for `path` answered with the HTTP `status`, which is not 2xx.
 * @param {string} path
 * @param {number} status
 */
export function httpError(path, status) {
  return new Error(`${path}: HTTP ${status}`);
}

/**
 * Fetches `path`, failing with the path and the HTTP status unless the server answers 2xx.
 * @param {string} path
 */
export async function fetchOk(path) {
  const response = await fetch(path);
  if (!response.ok) throw httpError(path, response.status);
  return response;
}
