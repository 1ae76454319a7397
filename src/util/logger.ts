/**
 * mp.getLogger() and mp.logToStderr(): Python's multiprocessing logger.
 *
 * Without logToStderr, warnings and errors still reach stderr (Python's
 * "last resort" handler does the same); logToStderr(level) lowers the level and
 * uses Python's format: "[LEVEL/ProcessName] message".
 */
import { currentIdentity } from "../process-identity.ts";

export type LogLevel = "debug" | "info" | "warning" | "error" | "critical";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 };

export interface Logger {
  readonly name: string;
  level: LogLevel;
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warning(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
  critical(message: string, ...details: unknown[]): void;
  isEnabledFor(level: LogLevel): boolean;
}

class MultiprocessingLogger implements Logger {
  readonly name = "multiprocessing";
  level: LogLevel = "warning";

  isEnabledFor(level: LogLevel): boolean {
    return LEVELS[level] >= LEVELS[this.level];
  }

  #log(level: LogLevel, message: string, details: unknown[]): void {
    if (!this.isEnabledFor(level)) return;
    const line = `[${level.toUpperCase()}/${currentIdentity().name}] ${message}`;
    process.stderr.write(details.length ? `${line} ${details.map(String).join(" ")}\n` : `${line}\n`);
  }

  debug(message: string, ...details: unknown[]): void {
    this.#log("debug", message, details);
  }
  info(message: string, ...details: unknown[]): void {
    this.#log("info", message, details);
  }
  warning(message: string, ...details: unknown[]): void {
    this.#log("warning", message, details);
  }
  error(message: string, ...details: unknown[]): void {
    this.#log("error", message, details);
  }
  critical(message: string, ...details: unknown[]): void {
    this.#log("critical", message, details);
  }
}

const logger = new MultiprocessingLogger();

/** The library's logger (Python's `multiprocessing.get_logger()`). */
export function getLogger(): Logger {
  return logger;
}

/** Sends the library's log to stderr at `level` (Python's `log_to_stderr(level)`). @default "info" */
export function logToStderr(level: LogLevel = "info"): Logger {
  if (!(level in LEVELS)) {
    throw new TypeError(`Expected \`level\` to be one of ${Object.keys(LEVELS).join(", ")}, got ${JSON.stringify(level)}`);
  }
  logger.level = level;
  return logger;
}
