/** The OS child processes of this test process, read from /proc (Linux). */
import { readdirSync, readFileSync } from "node:fs";

/** The program's /dev/shm tracker (src/memory/shm-sweeper.ts) is a child too, but not a worker. */
function isShmTracker(pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("MULTIPROC_SHM_PREFIX");
  } catch {
    return false;
  }
}

/** Pids of the live worker children of `parent` (default: this process). */
export function childPids(parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === parent && fields[0] !== "Z" && !isShmTracker(entry)) pids.push(Number(entry));
  }
  return pids;
}
