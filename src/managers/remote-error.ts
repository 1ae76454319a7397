/**
 * How an error raised in a manager's server is re-raised in the client. The
 * library's own flow errors (Empty, Full, BrokenBarrierError, TimeoutError) keep
 * their class, as a Python port's `except queue.Empty` expects; every other error
 * becomes mp.RemoteError carrying the original class name, message and the
 * server-side stack. Only those fixed classes are built: nothing in a reply
 * chooses code to run.
 */
import { BrokenBarrierError, Empty, Full, RemoteError, TimeoutError } from "../errors.ts";
import type { RemoteFailure } from "./protocol.ts";

const flowErrors: Record<string, new (message?: string) => Error> = { Empty, Full, BrokenBarrierError, TimeoutError };

/** A RemoteError's extra fields. */
export interface RemoteErrorFields {
  /** The class name of the error raised in the server (`KeyError`, `TypeError`, a user class...). */
  remoteName: string;
  /** Its message. */
  remoteMessage: string;
  /** Its stack, as the server printed it. */
  remoteStack: string;
}

function text(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

export function remoteErrorOf(failure: RemoteFailure): Error {
  const name = text(failure?.name, "Error");
  const message = text(failure?.message, "");
  const stack = text(failure?.stack, "");
  const serverStack = stack ? `\n--- raised in the manager's server ---\n${stack}` : "";
  const Flow = Object.hasOwn(flowErrors, name) ? flowErrors[name] : undefined;
  if (Flow) {
    const error = new Flow(message);
    error.stack = `${error.stack ?? ""}${serverStack}`;
    return error;
  }
  const error = new RemoteError(`${name}: ${message}`, { remoteName: name, remoteMessage: message, remoteStack: stack });
  if (typeof failure?.code === "string") Object.defineProperty(error, "remoteCode", { value: failure.code, enumerable: true });
  error.stack = `${error.stack ?? ""}${serverStack}`;
  return error;
}
