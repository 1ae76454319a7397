/**
 * Which memory the objects made now live in: "thread" (a SharedArrayBuffer, shared
 * by the threads of this process) or "os" (POSIX shared memory, which every OS
 * process of the program can map). As CPython's context hands `ctx` to every
 * factory, the context decides once and every region below it follows:
 *
 * - the default start method decides for the top-level classes (mp.Lock after
 *   mp.setStartMethod("process") lives in OS memory);
 * - a context's classes (mp.getContext("process").Lock) make their objects, and
 *   every object those make (a Condition's RLock, a Queue's rings), inside
 *   `withMemoryKind`.
 *
 * Primitives never ask which worker kind they run in; SharedRegion does, here.
 */
export type MemoryKind = "thread" | "os";

let defaultKind: MemoryKind = "thread";
let scoped: MemoryKind | undefined;

/** Set by setStartMethod: the memory of objects made outside any context. */
export function setDefaultMemoryKind(kind: MemoryKind): void {
  defaultKind = kind;
}

/** The memory a region made now should live in. */
export function currentMemoryKind(): MemoryKind {
  return scoped ?? defaultKind;
}

/** Runs `make` with every region it creates in `kind` memory. */
export function withMemoryKind<T>(kind: MemoryKind, make: () => T): T {
  const previous = scoped;
  scoped = kind;
  try {
    return make();
  } finally {
    scoped = previous;
  }
}

/** For a derived constructor, which cannot put super() in a callback: enter, then exitMemoryKind in a finally. */
export function enterMemoryKind(kind: MemoryKind): MemoryKind | undefined {
  const previous = scoped;
  scoped = kind;
  return previous;
}

export function exitMemoryKind(previous: MemoryKind | undefined): void {
  scoped = previous;
}
