/**
 * Which module a function was defined in, asked of V8 through the inspector
 * (JavaScript itself cannot tell). Slow (tens of ms: it lists every script
 * once), so it runs only to explain an error, never on a task's path.
 */
import type { Session } from "node:inspector";

/** The URL of the script that defines `fn`, or undefined when V8 cannot say. */
export function moduleOfFunction(fn: Function): string | undefined {
  let session: Session | undefined;
  const key = Symbol.for("multiproc.functionOrigin.probe");
  const holder = globalThis as unknown as Record<symbol, unknown>;
  try {
    // Loaded here, not at import: a worker imports this module and almost never explains an error.
    session = new (process.getBuiltinModule("node:inspector").Session)();
    session.connect();
    // A session on the same thread answers synchronously, inside post().
    const post = <T>(method: string, params: object): T => {
      let answer: { error: Error | null; result?: T } | undefined;
      session!.post(method, params, (error: Error | null, result?: object) => {
        answer = { error, result: result as T };
      });
      if (!answer || answer.error) throw answer?.error ?? new Error(`${method} did not answer synchronously`);
      return answer.result as T;
    };
    holder[key] = fn;
    const { result } = post<{ result: { objectId?: string } }>("Runtime.evaluate", {
      expression: "globalThis[Symbol.for('multiproc.functionOrigin.probe')]",
    });
    if (!result.objectId) return undefined;
    const { internalProperties } = post<{ internalProperties?: { name: string; value?: { value?: { scriptId: string } } }[] }>(
      "Runtime.getProperties",
      { objectId: result.objectId, ownProperties: true },
    );
    const scriptId = internalProperties?.find((p) => p.name === "[[FunctionLocation]]")?.value?.value?.scriptId;
    if (!scriptId) return undefined;
    let url: string | undefined;
    session.on("Debugger.scriptParsed", (event: { params: { scriptId: string; url: string } }) => {
      if (event.params.scriptId === scriptId) url = event.params.url;
    });
    // Enabling the debugger reports every script parsed so far; it is switched off at once.
    post("Debugger.enable", {});
    post("Debugger.disable", {});
    return url || undefined;
  } catch {
    return undefined; // no inspector in this build of Node, or it is in use
  } finally {
    delete holder[key];
    session?.disconnect();
  }
}
