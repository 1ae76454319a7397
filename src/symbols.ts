/**
 * Symbols shared across modules. `Symbol.for` is used where a brand must match
 * across copies of the library (each worker thread loads its own copy).
 */

/** Method on library objects that returns their wire form: `{ type, state }`. */
export const kWire = Symbol.for("multiproc.wire");

/** Per-thread process identity (currentProcess/parentProcess), kept on globalThis. */
export const kProcessState = Symbol.for("multiproc.processState");

/** Marks a value returned by mp.transfer(): move the listed buffers, do not copy. */
export const kTransfer = Symbol.for("multiproc.transfer");

/** Internal method of a started Process: a Promise of its exit that does not keep the program alive (join() does). */
export const kExited = Symbol("multiproc.process.exited");
