// What every engine adapter shares: how a page function travels to the browser.

/**
 * The expression `fn(...args)` as source, for drivers that take a script as text: `fn` must use
 * nothing from the test's scope, and `args` must survive JSON.
 */
export function callSource(fn, args) {
  return `(${fn})(...${JSON.stringify(args)})`;
}
