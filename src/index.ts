/**
 * multiproc: Python's multiprocessing for TypeScript on Node.js.
 * This file only re-exports the public names of API.md.
 */
export {
  ProcessError, BufferTooShort, TimeoutError, AuthenticationError, WorkerLostError,
  Empty, Full, EOFError, BrokenBarrierError, RemoteError,
} from "./errors.ts";
export { registerModule } from "./wire/functions.ts";
export { isMainProcess } from "./process-identity.ts";
export { Process, cpuCount, currentProcess, parentProcess, activeChildren, type ProcessOptions } from "./process.ts";
export type { ProcessIdentity } from "./process-identity.ts";
export { getLogger, logToStderr, type Logger, type LogLevel } from "./util/logger.ts";
export { setStartMethod, getStartMethod, getAllStartMethods } from "./start-method.ts";
export type { StartMethod, ResourceLimits } from "./backends/backend.ts";
