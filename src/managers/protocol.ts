/**
 * The manager's messages after the handshake (each one frame, see codec.ts):
 *
 *   server -> client, once:   [HELLO, token]
 *   client -> server:         [kind, requestId, target, name, args]
 *       CALL:     target = object id, name = method, args = arguments
 *       CREATE:   target = the new object's id (`<token>.<n>`), name = typeid, args
 *       SHUTDOWN: target = name = "", args = []
 *       UPGRADE:  target = name = "", args = [] (socket only; the reply is a ChannelState:
 *                 later frames may go through shared memory, see shm-channel.ts)
 *   server -> client:         [requestId, OK, value] | [requestId, FAILED, RemoteFailure]
 *
 * A client picks the ids of the objects it creates, so `manager.dict()` returns its
 * proxy at once (as Python's does) and the call goes out in order with later ones.
 */
export const HELLO = 0;
export const CALL = 0;
export const CREATE = 1;
export const SHUTDOWN = 2;
export const UPGRADE = 3;
export type RequestKind = typeof CALL | typeof CREATE | typeof SHUTDOWN | typeof UPGRADE;

export const OK = 0;
export const FAILED = 1;

export type Request = [kind: RequestKind, requestId: number, target: string, name: string, args: unknown[]];
export type Reply = [requestId: number, status: typeof OK | typeof FAILED, value: unknown];

/** An error raised in the server, as plain strings. */
export interface RemoteFailure {
  name: string;
  message: string;
  stack: string;
  code?: string;
}

/** Checks the shape of a decoded request; undefined when it breaks the protocol. */
export function asRequest(value: unknown): Request | undefined {
  if (!Array.isArray(value) || value.length !== 5) return undefined;
  const [kind, id, target, name, args] = value as unknown[];
  if (kind !== CALL && kind !== CREATE && kind !== SHUTDOWN && kind !== UPGRADE) return undefined;
  if (typeof id !== "number" || !Number.isSafeInteger(id)) return undefined;
  if (typeof target !== "string" || typeof name !== "string" || !Array.isArray(args)) return undefined;
  return value as Request;
}

export function asReply(value: unknown): Reply | undefined {
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [id, status] = value as unknown[];
  if (typeof id !== "number" || (status !== OK && status !== FAILED)) return undefined;
  return value as Reply;
}

/** The strings of an error thrown in the server (never calls a user's toString). */
export function failureOf(error: unknown): RemoteFailure {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: typeof error.name === "string" ? error.name : "Error",
      message: typeof error.message === "string" ? error.message : "",
      stack: typeof error.stack === "string" ? error.stack : "",
      ...(typeof code === "string" ? { code } : {}),
    };
  }
  return { name: "Error", message: typeof error === "string" ? error : `a non-Error value was thrown (${typeof error})`, stack: "" };
}
