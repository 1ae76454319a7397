/**
 * Contexts (Python's multiprocessing.context): every class and factory of the
 * API bound to one start method. `mp.getContext("thread").Pool` is a Pool whose
 * workers are threads whatever the default is.
 *
 * Only the classes that start workers (Pool, Process) differ between contexts in
 * this version; the shared-memory objects are the same classes in every context.
 */
import type { StartMethod } from "./backends/backend.ts";
import * as errors from "./errors.ts";
import { Pool, type PoolOptions } from "./pool/pool.ts";
import { activeChildren, cpuCount, currentProcess, parentProcess, Process, type ProcessOptions } from "./process.ts";
import { Pipe } from "./connection.ts";
import { JoinableQueue, Queue, SimpleQueue } from "./queues.ts";
import { SharedMemory, ShareableList } from "./shared-memory.ts";
import { createRawArray, createRawValue, createSharedArray, createValue } from "./sharedctypes.ts";
import { getAllStartMethods, getStartMethod, setStartMethod, validateStartMethod } from "./start-method.ts";
import { Barrier, BoundedSemaphore, Condition, Event, Lock, RLock, Semaphore } from "./synchronize/index.ts";
import { getLogger, logToStderr } from "./util/logger.ts";
import { isMainProcess } from "./process-identity.ts";

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

function createContext(method: StartMethod) {
  return Object.freeze({
    ...errors,
    Process: bindProcess(method),
    Pool: bindPool(method),
    Queue, JoinableQueue, SimpleQueue, Pipe,
    Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier,
    Value: createValue, RawValue: createRawValue, Array: createSharedArray, RawArray: createRawArray,
    SharedMemory, ShareableList,
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
