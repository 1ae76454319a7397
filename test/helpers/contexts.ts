/**
 * Runs a suite once per worker kind. Only "thread" exists so far; the process
 * context joins this list when it lands, and every suite then runs on both.
 */
import { describe } from "node:test";
import type { StartMethod } from "multiproc";

export const contexts: StartMethod[] = ["thread"];

export function forEachContext(suite: (context: StartMethod) => void): void {
  for (const context of contexts) {
    describe(`context ${context}`, () => suite(context));
  }
}
