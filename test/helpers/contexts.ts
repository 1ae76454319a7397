/**
 * Runs a suite once per worker kind: "thread" and "process" by default (as
 * CPython's test suite runs once per start method). MULTIPROC_CONTEXTS=thread
 * (or =process) runs one of them, to look at a failure.
 */
import { describe } from "node:test";
import type { StartMethod } from "multiproc";

function fromEnvironment(): StartMethod[] {
  const raw = process.env.MULTIPROC_CONTEXTS?.trim();
  if (!raw) return ["thread", "process"];
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
