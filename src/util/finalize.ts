/**
 * Work to do when this process (or, in a worker thread, this thread) exits:
 * today, unlinking the names of the OS shared-memory objects it created.
 *
 * `process.on("exit")` runs on a normal end, `process.exit()` and an uncaught
 * exception, but not on SIGKILL or a fatal signal with no handler: then the names
 * stay in /dev/shm until something unlinks them (the memory itself is freed once
 * no process maps it, so only the name leaks).
 */

const atExit = new Set<() => void>();
let hooked = false;

/** Runs `task` at exit (once); returns a function that cancels it. */
export function onExit(task: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once("exit", runExitTasks);
  }
  atExit.add(task);
  return () => {
    atExit.delete(task);
  };
}

function runExitTasks(): void {
  for (const task of atExit) {
    try {
      task();
    } catch {
      // An exit task that fails must not keep the others from running.
    }
  }
  atExit.clear();
}
