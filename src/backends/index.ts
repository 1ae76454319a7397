/** Picks the worker backend for a start method. */
import type { StartMethod, WorkerBackend } from "./backend.ts";
import { processBackend } from "./process.ts";
import { threadBackend } from "./thread.ts";

export function backendFor(method: StartMethod): WorkerBackend {
  switch (method) {
    case "thread":
      return threadBackend;
    case "process":
      return processBackend;
    default:
      throw new TypeError(`Expected \`context\` to be "thread" or "process", got ${JSON.stringify(method)}`);
  }
}
