/**
 * Every public error class of multiproc, in Python's hierarchy.
 *
 * `BufferTooShort`, `TimeoutError`, `AuthenticationError` and `WorkerLostError`
 * extend `ProcessError`; `Empty`, `Full`, `EOFError`, `BrokenBarrierError` and
 * `RemoteError` extend `Error`, as in CPython. Each class carries a stable `code`
 * and a `Symbol.for` brand so `instanceof` works across copies of the library
 * (every worker thread loads its own copy).
 */

type ErrorFields = Record<string, unknown>;

function brand(name: string): symbol {
  return Symbol.for(`multiproc.error.${name}`);
}

/** Installs `name`, `code` and a cross-copy brand on a class. */
function define(cls: { prototype: object }, name: string, code: string): void {
  const mark = brand(name);
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, configurable: true });
  Object.defineProperty(cls.prototype, "code", { value: code, writable: true, configurable: true });
  Object.defineProperty(cls.prototype, mark, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(candidate: unknown): boolean {
      return typeof candidate === "object" && candidate !== null && (candidate as Record<symbol, unknown>)[mark] === true;
    },
  });
}

function assignFields(target: Error, fields?: ErrorFields): void {
  if (!fields) return;
  for (const [key, value] of Object.entries(fields)) {
    if (key === "cause") continue;
    (target as unknown as ErrorFields)[key] = value;
  }
}

/** Base of multiproc's process errors (Python's `multiprocessing.ProcessError`). */
export class ProcessError extends Error {
  declare readonly code: string;
  constructor(message?: string, options?: ErrorOptions & ErrorFields) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    assignFields(this, options);
  }
}
define(ProcessError, "ProcessError", "ERR_MP_PROCESS");

/** A receive buffer was too small for the message (Python's `BufferTooShort`). */
export class BufferTooShort extends ProcessError {}
define(BufferTooShort, "BufferTooShort", "ERR_MP_BUFFER_TOO_SHORT");

/** A result did not arrive in time (Python's `multiprocessing.TimeoutError`). Carries `timeout` (ms). */
export class TimeoutError extends ProcessError {
  declare timeout?: number;
}
define(TimeoutError, "TimeoutError", "ERR_MP_TIMEOUT");

/** A peer failed the authkey challenge (Python's `AuthenticationError`). */
export class AuthenticationError extends ProcessError {}
define(AuthenticationError, "AuthenticationError", "ERR_MP_AUTHENTICATION");

/**
 * The worker running a task exited or crashed before the task finished.
 * Beyond Python: CPython's pool hangs in this case. Carries `pid`, `exitCode`, `signal`.
 */
export class WorkerLostError extends ProcessError {
  declare pid?: number;
  declare exitCode?: number | null;
  declare signal?: string | null;
}
define(WorkerLostError, "WorkerLostError", "ERR_MP_WORKER_LOST");

/** Base for the errors of Python's stdlib outside `ProcessError`. */
class PlainError extends Error {
  declare readonly code: string;
  constructor(message?: string, options?: ErrorOptions & ErrorFields) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    assignFields(this, options);
  }
}

/** `getNowait()` or a timed-out `get()` found the queue empty (Python's `queue.Empty`). */
export class Empty extends PlainError {}
define(Empty, "Empty", "ERR_MP_EMPTY");

/** `putNowait()` or a timed-out `put()` found the queue full (Python's `queue.Full`). */
export class Full extends PlainError {}
define(Full, "Full", "ERR_MP_FULL");

/** The other end of a connection is closed and nothing is left to read (Python's `EOFError`). */
export class EOFError extends PlainError {}
define(EOFError, "EOFError", "ERR_MP_EOF");

/** A barrier was broken or reset while waiting (Python's `threading.BrokenBarrierError`). */
export class BrokenBarrierError extends PlainError {}
define(BrokenBarrierError, "BrokenBarrierError", "ERR_MP_BROKEN_BARRIER");

/** An exception raised in a manager's server, re-raised in the client (Python's `RemoteError`). */
export class RemoteError extends PlainError {}
define(RemoteError, "RemoteError", "ERR_MP_REMOTE");

// ---------------------------------------------------------------------------
// Beyond Python's classes: misuses Python reports as ValueError, RuntimeError or
// AssertionError. Each class has several codes (`code` says which); docs/errors.md
// lists them all.

/**
 * A Pool used in the wrong state: `ERR_MP_POOL_NOT_RUNNING` (a submit after close() or
 * terminate(); Python's ValueError "Pool not running"), `ERR_MP_POOL_RUNNING` (join()
 * before close()), `ERR_MP_POOL_TERMINATED` (a task pending when terminate() was called).
 */
export class PoolStateError extends PlainError {}
define(PoolStateError, "PoolStateError", "ERR_MP_POOL_NOT_RUNNING");

/**
 * A lock, condition or semaphore used in the wrong state: `ERR_MP_LOCK_NOT_HELD`
 * (release or wait without holding it; Python's ValueError or RuntimeError),
 * `ERR_MP_LOCK_NOT_OWNED` (an RLock released by another worker), `ERR_MP_DEADLOCK`
 * (acquireSync() without a timeout on a Lock this worker holds),
 * `ERR_MP_SEMAPHORE_OVER_RELEASED` (a BoundedSemaphore above its initial value).
 */
export class LockStateError extends PlainError {}
define(LockStateError, "LockStateError", "ERR_MP_LOCK_NOT_HELD");

/**
 * A queue used in the wrong state: `ERR_MP_QUEUE_CLOSED` (put or get on a closed handle;
 * Python's ValueError), `ERR_MP_TASK_DONE_TOO_MANY` (taskDone() more times than items put).
 */
export class QueueStateError extends PlainError {}
define(QueueStateError, "QueueStateError", "ERR_MP_QUEUE_CLOSED");

/**
 * A Pool made or a Process started while a worker was still importing its modules
 * (`ERR_MP_STARTED_WHILE_IMPORTING`; Python's RuntimeError about `if __name__ == "__main__":`).
 */
export class StartedWhileImportingError extends ProcessError {}
define(StartedWhileImportingError, "StartedWhileImportingError", "ERR_MP_STARTED_WHILE_IMPORTING");

/**
 * A call on a proxy of a manager that was shut down, that closed the connection, or
 * that cannot be reached (`ERR_MP_MANAGER_CLOSED`). Python raises EOFError or
 * ConnectionRefusedError.
 */
export class ManagerClosedError extends ProcessError {}
define(ManagerClosedError, "ManagerClosedError", "ERR_MP_MANAGER_CLOSED");

/**
 * A cluster Pool (API.md, "Beyond one machine") could not do what was asked:
 * `ERR_MP_CLUSTER_NOT_EXPORTED` (a task function that is not exported from a module
 * under the root), `ERR_MP_CLUSTER_NOT_SENDABLE` (an argument that cannot leave this
 * machine), `ERR_MP_CLUSTER_VERSION_SKEW` (the worker's copy of the task's module
 * differs), `ERR_MP_CLUSTER_UNKNOWN_MODULE` (the worker did not load that module),
 * `ERR_MP_CLUSTER_NO_CLIENT` (the `redis` package is not installed),
 * `ERR_MP_CLUSTER_REDIS` (Redis failed, or lost the cluster's data). Python has no cluster.
 */
export class ClusterError extends PlainError {}
define(ClusterError, "ClusterError", "ERR_MP_CLUSTER_REDIS");

/** The library's error classes by name, so errors crossing a worker boundary keep their class. */
export const libraryErrorClasses: Readonly<Record<string, new (message?: string) => Error>> = {
  ProcessError, BufferTooShort, TimeoutError, AuthenticationError, WorkerLostError,
  Empty, Full, EOFError, BrokenBarrierError, RemoteError,
  PoolStateError, LockStateError, QueueStateError, StartedWhileImportingError, ManagerClosedError, ClusterError,
};
