// What the engine adapters share: how a page function travels to the browser, and a mouse drag
// for the drivers whose mouse has Playwright's shape (Playwright's and Puppeteer's).

/**
 * The expression `fn(...args)` as source, for drivers that take a script as text: `fn` must use
 * nothing from the test's scope, and `args` must survive JSON.
 */
export function callSource(fn, args) {
  return `(${fn})(...${JSON.stringify(args)})`;
}

/**
 * Presses the mouse at the first of `points` (page coordinates), moves it through the others and
 * lets go, with a `mouse` that has move(x, y), down() and up().
 * @param {{ move(x: number, y: number): Promise<unknown>, down(): Promise<unknown>, up(): Promise<unknown> }} mouse
 * @param {[number, number][]} points
 */
export async function dragMouse(mouse, points) {
  await mouse.move(...points[0]);
  await mouse.down();
  for (const point of points.slice(1)) await mouse.move(...point);
  await mouse.up();
}
