// The task functions every pool runs: one plain ES module, loaded as is by every
// library's workers (multiproc registers it with mp.registerModule), so no library
// pays for a TypeScript loader or a different function body.
// tasks-ts.ts is the same module in TypeScript, for multiproc's W5 under tsx.

/** W1 and W5: the trivial task. */
export function inc(x) {
  return x + 1;
}

/** W2 for libraries without a map: inc over one chunk of items. */
export function incAll(xs) {
  return xs.map(inc);
}

/** W3: CPU-bound work, the same recursion in every language. */
export function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/**
 * W4: the sum of a Float64Array. A pool whose channel is JSON (child-process
 * pools) delivers it as an object of indexed numbers; that costs it, but the sum
 * is the same.
 */
export function sumArray(values) {
  const items = ArrayBuffer.isView(values) || Array.isArray(values) ? values : Object.values(values);
  let total = 0;
  for (let i = 0; i < items.length; i++) total += items[i];
  return total;
}

/** Warm-up: keeps the CPU busy for `ms` milliseconds, by the clock. */
export function spin(ms) {
  const end = performance.now() + ms;
  let turns = 0;
  while (performance.now() < end) turns++;
  return turns;
}

// piscina and tinypool call the default export unless a task names another one.
export default inc;
