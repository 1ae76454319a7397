/**
 * Why a message could not cross an OS-process boundary (child_process IPC with
 * serialization: "advanced"). V8's serializer carries what structured clone does,
 * except shared memory: a SharedArrayBuffer belongs to one process's heap. A
 * library object made for the thread context keeps its state in one, so it cannot
 * reach an OS process; the error names it and says which context to create it from.
 * Runs only after a send has already failed, so its cost does not matter.
 */
import { uncloneableError } from "./clone-check.ts";
import { PLACEHOLDER } from "./serialize.ts";
import { childrenWithPaths } from "./value-paths.ts";


interface SharedFound {
  path: string;
  /** The library type whose state holds the buffer ("Lock", "Queue"...), or null for a raw buffer or view. */
  owner: string | null;
}

/** The first SharedArrayBuffer inside `value` (the message as posted, library objects already encoded). */
export function findSharedMemory(value: unknown, rootName: string): SharedFound | undefined {
  const seen = new Set<object>();
  // `owner`: the innermost-but-outermost library object on the path, reported instead of its insides.
  const visit = (current: unknown, path: string, owner: SharedFound | null): SharedFound | undefined => {
    if (typeof current !== "object" || current === null || seen.has(current)) return undefined;
    seen.add(current);
    if (current instanceof SharedArrayBuffer) return owner ?? { path, owner: null };
    if (ArrayBuffer.isView(current)) return current.buffer instanceof SharedArrayBuffer ? (owner ?? { path, owner: null }) : undefined;
    if (current instanceof ArrayBuffer) return undefined;
    const record = current as Record<string, unknown>;
    const type = record[PLACEHOLDER];
    if (typeof type === "string") {
      // A library object (or a typed array over shared memory): report it, not the placeholder's insides.
      return visit(record.state, path, owner ?? { path, owner: type === "SharedView" ? null : type.replace(/^multiproc\./, "") });
    }
    for (const [child, childPath] of childrenWithPaths(current, path)) {
      const found = visit(child, childPath, owner);
      if (found) return found;
    }
    return undefined;
  };
  return visit(value, rootName, null);
}

/** How the process context makes the library types that are not made with `new`. */
const FACTORY_CALLS: Record<string, string> = {
  Value: "ctx.Value(typecode, value)",
  Array: "ctx.Array(typecode, values)",
  RawValue: "ctx.RawValue(typecode, value)",
  Connection: "ctx.Pipe()",
};

/**
 * The error for a message that an OS process's IPC refused: a TypeError naming the
 * shared-memory part and the fix when that is the cause, else uncloneableError's.
 */
export function ipcCloneError(value: unknown, rootName: string, what: string, original: unknown): TypeError {
  const found = findSharedMemory(value, rootName);
  if (!found) return uncloneableError(value, rootName, what, original);
  const thing = found.owner ? `${/^[AEIOU]/.test(found.owner) ? "An" : "A"} ${found.owner}` : "A SharedArrayBuffer";
  const made = found.owner ? (FACTORY_CALLS[found.owner] ?? `new ctx.${found.owner}(...)`) : "";
  const fix = found.owner
    ? `make it in OS shared memory instead: \`const ctx = mp.getContext("process")\`, then \`${made}\` ` +
      '(or call mp.setStartMethod("process") before creating it)'
    : 'use memory that OS processes share: `mp.getContext("process").RawArray(typecode, size)` or ' +
      '`new (mp.getContext("process").SharedMemory)({ create: true, size })`, or send a copy (an ArrayBuffer or a plain typed array)';
  return new TypeError(
    `Cannot send ${what}: ${found.path} is in shared memory of this process. ` +
      `${thing} created for the thread context cannot be sent to an OS process; ${fix}.`,
    { cause: original },
  );
}

/**
 * ipcCloneError for a message of the protocol, naming the part a user gave
 * (a Process's args, a pool task's arguments or item) rather than the envelope.
 */
export function ipcMessageError(message: unknown, original: unknown): TypeError {
  const m = message as { type?: string; target?: { kind: string; args?: unknown; fields?: unknown }; items?: unknown[]; start?: number | null };
  if (m.type === "run" && m.target) {
    return m.target.kind === "function"
      ? ipcCloneError(m.target.args, "args", "the arguments of a process", original)
      : ipcCloneError(m.target.fields, "this", "the fields of a Process subclass", original);
  }
  if (m.type === "task" && Array.isArray(m.items)) {
    if (m.start === null || m.start === undefined) return ipcCloneError(m.items[0], "args", "the arguments to a pool worker", original);
    const bad = Math.max(0, m.items.findIndex((item) => findSharedMemory(item, "item") !== undefined));
    return ipcCloneError(m.items[bad], `iterable[${m.start + bad}]`, "an item of the iterable to a pool worker", original);
  }
  if (m.type === "result") return ipcCloneError(message, "result", "a task's result back to the caller", original);
  return ipcCloneError(message, "message", "a message to another process", original);
}

/** Whether `error` is V8's "could not be cloned" (DataCloneError) from a failed send. */
export function isCloneError(error: unknown): boolean {
  return error instanceof Error && (error.name === "DataCloneError" || /could not be cloned/i.test(error.message));
}
