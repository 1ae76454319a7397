/**
 * multiproc: Python's multiprocessing for TypeScript on Node.js.
 * This file only re-exports the public names of API.md (and imports worker-core.ts, for the bundle).
 */
import "./runtime/worker-core.ts";
export {
  ProcessError, BufferTooShort, TimeoutError, AuthenticationError, WorkerLostError,
  Empty, Full, EOFError, BrokenBarrierError, RemoteError,
  PoolStateError, LockStateError, QueueStateError, StartedWhileImportingError, ManagerClosedError, ClusterError,
} from "./errors.ts";
export { registerModule } from "./wire/functions.ts";
export { isMainProcess } from "./process-identity.ts";
export { Process, cpuCount, currentProcess, parentProcess, activeChildren, type ProcessOptions, type ParentProcess, type CurrentProcess } from "./process.ts";
export type { ProcessIdentity } from "./process-identity.ts";
export { getLogger, logToStderr, type Logger, type LogLevel } from "./util/logger.ts";
export { setStartMethod, getStartMethod, getAllStartMethods } from "./start-method.ts";
export type { StartMethod, ResourceLimits } from "./backends/backend.ts";
export { Queue, JoinableQueue, SimpleQueue, type QueueOptions } from "./queues.ts";
export {
  Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier,
  type AcquireOptions, type BarrierOptions,
} from "./synchronize/index.ts";
export { Pipe, type Connection } from "./connection.ts";
export { Pool } from "./pool/pool.ts";
export type { ClusterOptions } from "./cluster/engine.ts";
export type { PoolOptions, SubmitOptions, ApplyOptions, ApplyAsyncOptions, MapOptions, MapAsyncOptions } from "./pool/pool.ts";
export type { AsyncResult, IMapIterator, ProgressHook } from "./pool/results.ts";
export type { PoolStats, TimeSummary, WorkerCounts } from "./pool/stats.ts";
export { transfer } from "./transfer.ts";
export {
  createValue as Value, createRawValue as RawValue, createSharedArray as Array, createRawArray as RawArray,
  type RawValue as RawValueObject, type SynchronizedValue, type SynchronizedArray, type SynchronizedOptions,
  type Typecode, type BigIntTypecode, type TypecodeValue, type TypedArrayOf,
} from "./sharedctypes.ts";
export { SharedMemory, ShareableList, type SharedMemoryOptions, type ShareableValue } from "./shared-memory.ts";
export { getContext, type Context } from "./context.ts";
export { Manager, BaseManager, SyncManager, type ManagerOptions } from "./managers/manager.ts";
export type { Server as ManagerServer } from "./managers/server.ts";
export type { Address } from "./managers/address.ts";
export type { RemoteErrorFields } from "./managers/remote-error.ts";
export {
  BaseProxy, DictProxy, ListProxy, NamespaceProxy, ValueProxy, ArrayProxy, QueueProxy, JoinableQueueProxy,
  LockProxy, RLockProxy, SemaphoreProxy, EventProxy, ConditionProxy, BarrierProxy, type AutoProxy,
} from "./managers/proxies.ts";
