/**
 * Nothing of a program left in /dev/shm: every shm name a program makes starts
 * with its root's pid ("mp-<root>-", see shm.ts), and the root removes them all
 *
 * - when it exits (an exit hook), whoever made them: children killed by SIGKILL
 *   could not unlink their own;
 * - when it is killed itself, through a tracker: a small Node process started
 *   with the first OS memory, in a session of its own, that ignores the signals
 *   of Ctrl-C and terminal hang-ups, waits for its stdin (a pipe from the root)
 *   to close, sweeps and exits. CPython's resource tracker does the same job; it
 *   can be killed along with its program, and so can this one if a signal is
 *   sent to it by pid.
 *
 * Mappings stay valid after their names go: a process still running keeps its
 * memory; only new attachments by name fail.
 */
import { readdirSync } from "../util/lean-builtins.ts";
import type { Socket } from "node:net";
import { native } from "../util/native.ts";
import { onExit } from "../util/finalize.ts";

/** The tracker's program: plain JavaScript, no library, so it starts in milliseconds. */
const TRACKER = `
const fs = require("node:fs");
const prefix = process.env.MULTIPROC_SHM_PREFIX;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"]) process.on(signal, () => {});
const sweep = () => {
  try {
    for (const name of fs.readdirSync("/dev/shm")) if (name.startsWith(prefix)) try { fs.unlinkSync("/dev/shm/" + name); } catch {}
  } catch {}
  process.exit(0);
};
process.stdin.on("end", sweep).on("close", sweep).on("error", sweep).resume();
`;

let started = false;

/** Removes the names starting with `prefix` now. */
function sweep(prefix: string): void {
  let names: string[];
  try {
    names = readdirSync("/dev/shm");
  } catch {
    return; // no /dev/shm to look in (not Linux): the creators' own unlinks are all there is
  }
  for (const name of names) if (name.startsWith(prefix)) native().shmUnlink(`/${name}`);
}

/** In a program's root process, once: sweep `mp-<rootPid>-` names at exit and after a kill. */
export function sweepProgramShm(rootPid: number): void {
  if (started) return;
  started = true;
  const prefix = `mp-${rootPid}-`;
  onExit(() => sweep(prefix));
  try {
    const tracker = process.getBuiltinModule("node:child_process").spawn(process.execPath, ["-e", TRACKER], {
      stdio: ["pipe", "ignore", "ignore"],
      detached: true,
      env: { ...process.env, MULTIPROC_SHM_PREFIX: prefix },
    });
    tracker.on("error", () => {}); // no tracker: the exit hook still sweeps after a normal exit
    // Neither the tracker nor its pipe keeps the program alive; the pipe closes when the root ends.
    tracker.unref();
    (tracker.stdin as Socket | null)?.unref();
  } catch {
    // The exit hook above still sweeps after a normal exit.
  }
}
