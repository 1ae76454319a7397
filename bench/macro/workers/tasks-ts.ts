// tasks.mjs's inc, as a TypeScript module: multiproc's W5 under tsx (the common case
// for its users) against the same pool on the JavaScript module.

export function inc(x: number): number {
  return x + 1;
}
