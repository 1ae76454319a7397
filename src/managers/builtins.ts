/** The typeids a SyncManager serves, and the class behind each (CPython's SyncManager.register calls). */
import { ManagedArray, ManagedDict, ManagedList, ManagedNamespace, ManagedValue } from "./referents/collections.ts";
import { ManagedJoinableQueue, ManagedQueue } from "./referents/queue.ts";
import {
  ManagedBarrier, ManagedBoundedSemaphore, ManagedCondition, ManagedEvent, ManagedLock, ManagedRLock, ManagedSemaphore,
} from "./referents/sync.ts";
import type { Factory } from "./server.ts";

export const syncManagerTypes: Readonly<Record<string, Factory>> = {
  dict: ManagedDict, list: ManagedList, Namespace: ManagedNamespace, Value: ManagedValue, Array: ManagedArray,
  Queue: ManagedQueue, JoinableQueue: ManagedJoinableQueue, Lock: ManagedLock, RLock: ManagedRLock,
  Semaphore: ManagedSemaphore, BoundedSemaphore: ManagedBoundedSemaphore, Event: ManagedEvent,
  Condition: ManagedCondition, Barrier: ManagedBarrier,
} as unknown as Record<string, Factory>;
