// The task functions every pool runs: one plain ES module, loaded as is by every
// library's workers (multiproc registers it with mp.registerModule), so no library
// pays for a TypeScript loader or a different function body.

/** Measures 1 and 4: the trivial task. */
export function inc(x) {
  return x + 1;
}

/** Measure 2 for libraries without a map: inc over one chunk of items. */
export function incAll(xs) {
  return xs.map(inc);
}

/** Measure 3: keeps the CPU busy for `ms` milliseconds, by the clock, so every language does the same work. */
export function spin(ms) {
  const end = performance.now() + ms;
  let turns = 0;
  while (performance.now() < end) turns++;
  return turns;
}

// piscina and tinypool call the default export unless a task names another one.
export default inc;
