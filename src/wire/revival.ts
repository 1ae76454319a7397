/**
 * How a library class is rebuilt from its wire state through its public constructor
 * (a subclass made by a context, or a user's `class X extends mp.Queue`, must still
 * run its own constructor): the reviver offers the state with `run()`, and the
 * constructor `take()`s it as its first step. Without a state on offer the
 * constructor builds a new object from its arguments.
 *
 * One Revival per class (or family) replaces the module-level `reviving` variables the
 * classes had each grown; a manager proxy needs none, because its constructor already
 * takes its reference.
 */
export class Revival<S> {
  #state: S | undefined;

  /** Runs `make` (which calls the constructor) with `state` on offer. */
  run<T>(state: S, make: () => T): T {
    const previous = this.#state;
    this.#state = state;
    try {
      return make();
    } finally {
      this.#state = previous;
    }
  }

  /** In a constructor: the state on offer (taken once), or undefined for a new object. */
  take(): S | undefined {
    const state = this.#state;
    this.#state = undefined;
    return state;
  }

  /** The state on offer, left for the base constructor (a subclass reads it before super()). */
  peek(): S | undefined {
    return this.#state;
  }
}
