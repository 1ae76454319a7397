/**
 * Cost of waitCore's per-view dispatch (futex for OS shared memory, Atomics otherwise)
 * against calling atomicsWaitCore directly, on the calls primitives make most:
 * notify with no waiter and waitSync that finds the word already changed.
 * Run: node --conditions=multiproc-source --import tsx bench/wait-dispatch.ts
 */
import { atomicsWaitCore, futexWaitCore, waitCore, type WaitCore } from "../src/memory/wait.ts";
import { SharedRegion } from "../src/memory/region.ts";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const N = 5_000_000;

function time(label: string, core: WaitCore, view: Int32Array): void {
  let sink = 0;
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) {
      sink += core.notify(view, 0, 1);
      sink += core.waitSync(view, 0, 1) === "not-equal" ? 1 : 0;
    }
    const ns = Number(process.hrtime.bigint() - start) / N;
    if (round === 2) console.log(`${label.padEnd(48)} ${ns.toFixed(1)} ns per notify+waitSync`);
  }
  if (sink < 0) console.log(sink);
}

// Each case runs in a fresh process (argv[2]) so one case's type feedback does not slow the next.
const which = process.argv[2];
const plain = SharedRegion.create(16).int32();
const run = (label: string, core: WaitCore, view: Int32Array): void => {
  if (which === undefined) {
    execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), label], { stdio: "inherit" });
  } else if (which === label) {
    time(label, core, view);
  }
};
run("atomicsWaitCore, SAB", atomicsWaitCore, plain);
run("waitCore, SAB, no OS memory in this thread", waitCore, plain);
const shm = which === undefined ? plain : SharedRegion.create(16, { shared: "os" }).int32();
run("waitCore, SAB, OS memory in use (WeakSet miss)", waitCore, plain);
run("waitCore, OS shared memory (futex)", waitCore, shm);
run("futexWaitCore, OS shared memory", futexWaitCore, shm);
