// @ts-check

/**
 * Fetches `path`, failing with the path and the HTTP status unless the server answers 2xx.
 * @param {string} path
 */
export async function fetchOk(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response;
}
