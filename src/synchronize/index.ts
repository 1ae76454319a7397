/** Synchronization primitives (Python's multiprocessing.synchronize). */
export { Lock, RLock } from "./lock.ts";
export { Semaphore, BoundedSemaphore } from "./semaphore.ts";
export { Event } from "./event.ts";
export { Condition } from "./condition.ts";
export { Barrier, type BarrierOptions } from "./barrier.ts";
export type { AcquireOptions } from "./options.ts";
