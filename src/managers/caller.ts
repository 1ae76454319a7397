/**
 * Who is calling a manager's object: one client connection (a process or a worker
 * thread). Locks and conditions record their holder as the Caller, and every
 * pending wait belongs to one, so when a client's connection closes (it exited,
 * crashed or was killed) the server releases what it held and drops what it
 * waited for: no other client deadlocks on a dead one (CPython's would).
 */
export class Caller {
  #open = true;
  readonly #closeHooks = new Set<() => void>();

  constructor(
    /** A server-unique number; objects this caller creates have ids `<token>.<n>`. */
    readonly token: string,
    /** How the peer reads in a log line: its address or "local". */
    readonly peer: string,
  ) {}

  get open(): boolean {
    return this.#open;
  }

  /** Runs `hook` when this caller goes away; returns the function that cancels it. */
  onClose(hook: () => void): () => void {
    if (!this.#open) {
      hook();
      return () => {};
    }
    this.#closeHooks.add(hook);
    return () => void this.#closeHooks.delete(hook);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const hook of [...this.#closeHooks]) hook();
    this.#closeHooks.clear();
  }
}

let active: Caller | null = null;

/** Runs `method` as a call from `caller` (the caller is readable until the method's first await). */
export function callAs<T>(caller: Caller, method: () => T): T {
  const previous = active;
  active = caller;
  try {
    return method();
  } finally {
    active = previous;
  }
}

/** The caller of the method running now; read it before the method's first await. */
export function currentCaller(): Caller {
  if (!active) throw new Error("a manager's shared object was called outside its server");
  return active;
}
