/** The multiproc worker processes among the children of a process, read from /proc (Linux). */
import { readdirSync, readFileSync } from "node:fs";

/** Whether process `pid` is a multiproc worker (it runs the runtime's process entry), not another child such as the /dev/shm tracker. */
function isWorker(pid: string): boolean {
  try {
    return /runtime[\\/]process-entry\.(ts|js|cjs)/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
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
    if (Number(fields[1]) === parent && fields[0] !== "Z" && isWorker(entry)) pids.push(Number(entry));
  }
  return pids;
}
