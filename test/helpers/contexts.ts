/**
 * Runs a suite once per worker kind. The default is "thread" only; set
 * MULTIPROC_CONTEXTS=thread,process to run every suite on OS processes too
 * (opt-in until the process context has OS shared memory for locks, queues and values).
 */
import { describe } from "node:test";
import type { StartMethod } from "multiproc";

function fromEnvironment(): StartMethod[] {
  const raw = process.env.MULTIPROC_CONTEXTS?.trim();
  if (!raw) return ["thread"];
  const names = raw.split(",").map((name) => name.trim()).filter(Boolean);
  for (const name of names) {
    if (name !== "thread" && name !== "process") {
      throw new TypeError(`Expected MULTIPROC_CONTEXTS to list "thread" and/or "process" (comma-separated), got ${JSON.stringify(raw)}`);
    }
  }
  return [...new Set(names)] as StartMethod[];
}

export const contexts: StartMethod[] = fromEnvironment();

export function forEachContext(suite: (context: StartMethod) => void): void {
  for (const context of contexts) {
    describe(`context ${context}`, () => suite(context));
  }
}
