// @ts-check

/**
 * Fetches `path`, failing with the path and the HTTP status unless the server answers 2xx, or
 * with the path and the browser's reason when there is no answer.
 * @param {string} path
 */
export async function fetchOk(path) {
  const response = await fetch(path).catch((error) => {
    throw new Error(`${path}: ${error instanceof Error ? error.message : error}`);
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response;
}
