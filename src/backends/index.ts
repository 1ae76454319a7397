/** Picks the worker backend for a start method. */
import type { StartMethod, WorkerBackend } from "./backend.ts";
import { threadBackend } from "./thread.ts";

export function backendFor(method: StartMethod): WorkerBackend {
  switch (method) {
    case "thread":
      return threadBackend;
    case "process":
      throw new Error(
        'The "process" context (OS child processes) is not available yet in this version of multiproc; use the "thread" context.',
      );
    default:
      throw new TypeError(`Expected \`context\` to be "thread" or "process", got ${JSON.stringify(method)}`);
  }
}
