/**
 * Contexts (Python's multiprocessing.context): every class and factory of the
 * API bound to one start method. `mp.getContext("thread").Pool` is a Pool whose
 * workers are threads whatever the default is.
 *
 * Pool and Process are bound to the context's worker kind; every shared object
 * (primitives, shared ctypes, queues, pipes, SharedMemory) to its memory kind
 * (memory/kind.ts): those of the "process" context live in OS shared memory, so
 * they cross to OS processes.
 */
import type { StartMethod } from "./backends/backend.ts";
import * as errors from "./errors.ts";
import { Pool, type PoolOptions } from "./pool/pool.ts";
import { activeChildren, cpuCount, currentProcess, parentProcess, Process, type ProcessOptions } from "./process.ts";
import { Pipe } from "./connection.ts";
import { JoinableQueue, Queue, SimpleQueue } from "./queues.ts";
import { SharedMemory, ShareableList } from "./shared-memory.ts";
import { createRawArray, createRawValue, createSharedArray, createValue } from "./sharedctypes.ts";
import { enterMemoryKind, exitMemoryKind, withMemoryKind, type MemoryKind } from "./memory/kind.ts";
import { getAllStartMethods, getStartMethod, memoryKindOf, setStartMethod, validateStartMethod } from "./start-method.ts";
import { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore } from "./synchronize/index.ts";
import { getLogger, logToStderr } from "./util/logger.ts";
import { isMainProcess } from "./process-identity.ts";
import { BaseManager, Manager, SyncManager } from "./managers/manager.ts";

function bindProcess(method: StartMethod): typeof Process {
  return class extends Process {
    constructor(options: ProcessOptions = {}) {
      super({ context: method, ...options });
    }
  };
}

function bindPool(method: StartMethod): typeof Pool {
  return class extends Pool {
    constructor(options?: number | PoolOptions | null) {
      const normalized: PoolOptions = typeof options === "number" || options == null ? { processes: options ?? undefined } : options;
      super({ context: method, ...normalized });
    }
  };
}

/** `Base`, whose objects (and what they make) live in `kind` memory; still `instanceof Base`. */
function bindMemory<C extends abstract new (...args: never[]) => object>(Base: C, kind: MemoryKind): C {
  const Bound = class extends (Base as unknown as new (...args: unknown[]) => object) {
    constructor(...args: unknown[]) {
      const previous = enterMemoryKind(kind);
      try {
        super(...args);
      } finally {
        exitMemoryKind(previous);
      }
    }
  };
  Object.defineProperty(Bound, "name", { value: Base.name });
  return Bound as unknown as C;
}

/** A factory whose objects live in `kind` memory. */
function bindFactory<F extends (...args: never[]) => unknown>(factory: F, kind: MemoryKind): F {
  const bound = (...args: Parameters<F>): ReturnType<F> => withMemoryKind(kind, () => factory(...args) as ReturnType<F>);
  Object.defineProperty(bound, "name", { value: factory.name });
  return bound as unknown as F;
}

function createContext(method: StartMethod) {
  const memory = memoryKindOf(method);
  return Object.freeze({
    ...errors,
    Process: bindProcess(method),
    Pool: bindPool(method),
    Queue: bindMemory(Queue, memory),
    JoinableQueue: bindMemory(JoinableQueue, memory),
    SimpleQueue: bindMemory(SimpleQueue, memory),
    Pipe: bindFactory(Pipe, memory),
    Lock: bindMemory(Lock, memory),
    RLock: bindMemory(RLock, memory),
    Semaphore: bindMemory(Semaphore, memory),
    BoundedSemaphore: bindMemory(BoundedSemaphore, memory),
    Event: bindMemory(Event, memory),
    Condition: bindMemory(Condition, memory),
    Barrier: bindMemory(Barrier, memory),
    Value: bindFactory(createValue, memory),
    RawValue: bindFactory(createRawValue, memory),
    Array: bindFactory(createSharedArray, memory),
    RawArray: bindFactory(createRawArray, memory),
    SharedMemory: bindMemory(SharedMemory, memory),
    ShareableList: bindMemory(ShareableList, memory),
    // A manager's server is always an OS process, whatever the context (as in CPython).
    Manager, BaseManager, SyncManager,
    cpuCount, currentProcess, parentProcess, activeChildren, isMainProcess, getLogger, logToStderr,
    getStartMethod: () => method,
    getAllStartMethods,
    setStartMethod,
    getContext,
  });
}

/** A context: the library's classes and factories bound to one start method. */
export type Context = ReturnType<typeof createContext>;

const contexts = new Map<StartMethod, Context>();

/** The context of `method`, or of the default start method (Python's get_context()). */
export function getContext(method?: StartMethod | null): Context {
  const chosen = method == null ? (getStartMethod() as StartMethod) : validateStartMethod(method, "method");
  let context = contexts.get(chosen);
  if (!context) {
    context = createContext(chosen);
    contexts.set(chosen, context);
  }
  return context;
}
