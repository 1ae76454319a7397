// The task module of examples/cluster.ts: every worker loads it with --module, and the
// caller imports the same file, so both name the same functions by reference.

/** Counts the primes below `limit`, the slow way: CPU-bound work worth a machine. */
export function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

/** Which process ran a task, to show that they spread over the workers. */
export function whereAmI(tag: number): string {
  return `task ${tag} ran in pid ${process.pid}`;
}
