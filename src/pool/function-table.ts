/**
 * Numbers for the functions a pool sends, so that a task names its function by
 * number: each worker learns a number's FunctionRef with its first task that
 * uses it (see TaskMessage.fn), and later tasks skip cloning and looking it up.
 *
 * Numbers are given per function *content* (module and export name, global path,
 * or source text), not per FunctionRef object: a program that passes a fresh
 * arrow function on every call gets one number for them all, so a worker's
 * table grows with the distinct functions only.
 */
import { refKey as contentKey, type FunctionRef } from "../wire/functions.ts";

export class FunctionTable {
  /** Fast path: the same FunctionRef object again (Pool caches one per function). */
  readonly #byRef = new WeakMap<FunctionRef, number>();
  readonly #byKey = new Map<string, number>();

  idOf(ref: FunctionRef): number {
    let id = this.#byRef.get(ref);
    if (id !== undefined) return id;
    const key = contentKey(ref);
    id = this.#byKey.get(key);
    if (id === undefined) {
      id = this.#byKey.size;
      this.#byKey.set(key, id);
    }
    this.#byRef.set(ref, id);
    return id;
  }
}
