/**
 * Errors across the worker boundary: class, message, own properties, `cause`,
 * and the worker's stack appended to the caller's.
 *
 * Structured clone keeps only a few built-in error fields, so errors travel as
 * a plain record and are rebuilt with their class here: built-in classes and
 * the library's own by name; a class exported by a known module by reference,
 * as functions travel (CPython re-raises the user's own exception class); any
 * other class becomes the nearest built-in class, with the original `name`.
 */
import { libraryErrorClasses } from "../errors.ts";
import { exportRefOf, loadedExport, loadExport, type FunctionRef } from "./functions.ts";

type ClassRef = Extract<FunctionRef, { kind: "export" }>;

export interface EncodedError {
  kind: "error";
  name: string;
  className: string;
  message: string;
  stack?: string;
  props: Record<string, unknown>;
  /** The error's class, when a known module exports it. */
  classRef?: ClassRef;
  /** The nearest built-in class it extends (what it becomes where classRef cannot be loaded). */
  builtinName?: string;
  cause?: EncodedError | { kind: "value"; value: unknown };
  errors?: EncodedError[];
}

const builtinErrorClasses: Record<string, new (message?: string) => Error> = {
  Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

function isCloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

function encodeCause(cause: unknown): EncodedError["cause"] {
  if (cause instanceof Error) return encodeError(cause);
  return { kind: "value", value: isCloneable(cause) ? cause : String(cause) };
}

/** Turns anything thrown into a cloneable record. */
export function encodeError(thrown: unknown, depth = 0): EncodedError {
  if (!(thrown instanceof Error)) {
    const text = typeof thrown === "string" ? thrown : safeString(thrown);
    return { kind: "error", name: "Error", className: "Error", message: text, props: { thrownValue: isCloneable(thrown) ? thrown : text } };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === "cause" || key === "stack" || key === "message") continue;
    const value = (thrown as unknown as Record<string, unknown>)[key];
    props[key] = isCloneable(value) ? value : safeString(value);
  }
  // `code` and the like may live on the prototype (library errors): keep them visible.
  const code = (thrown as { code?: unknown }).code;
  if (code !== undefined && !("code" in props)) props.code = code;
  const encoded: EncodedError = {
    kind: "error",
    name: thrown.name,
    className: thrown.constructor?.name ?? "Error",
    message: thrown.message,
    stack: thrown.stack,
    props,
  };
  const Class = thrown.constructor;
  if (typeof Class === "function" && !libraryErrorClasses[Class.name] && builtinErrorClasses[Class.name] !== Class) {
    const classRef = exportRefOf(Class);
    if (classRef) encoded.classRef = classRef;
    encoded.builtinName = nearestBuiltin(thrown);
  }
  if ("cause" in thrown && depth < 8) encoded.cause = encodeCause(thrown.cause);
  if (thrown instanceof AggregateError && depth < 8) encoded.errors = thrown.errors.map((e) => encodeError(e, depth + 1));
  return encoded;
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The name of the built-in class nearest `error` in its prototype chain. */
function nearestBuiltin(error: Error): string {
  for (let proto = Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    const name = (proto.constructor as { name?: string } | undefined)?.name;
    if (name && builtinErrorClasses[name] === proto.constructor) return name;
  }
  return "Error";
}

/** The user's class an encoded error names, if its module is loaded here and still exports an Error class by that name. */
function userClass(encoded: EncodedError): (new (message?: string) => Error) | undefined {
  if (!encoded.classRef) return undefined;
  const value = loadedExport(encoded.classRef);
  return typeof value === "function" && value.prototype instanceof Error ? (value as new (message?: string) => Error) : undefined;
}

function errorClass(encoded: EncodedError): new (message?: string) => Error {
  return (
    libraryErrorClasses[encoded.className] ??
    builtinErrorClasses[encoded.className] ??
    libraryErrorClasses[encoded.name] ??
    builtinErrorClasses[encoded.name] ??
    builtinErrorClasses[encoded.builtinName ?? "Error"] ??
    Error
  );
}

/**
 * Loads the modules of the user classes an encoded error (and its causes)
 * names, so decodeError can rebuild them. Undefined when nothing needs loading,
 * so callers stay synchronous in the common case.
 */
export function loadErrorClasses(encoded: EncodedError): Promise<unknown> | undefined {
  const pending: Promise<boolean>[] = [];
  const visit = (e: EncodedError, depth: number): void => {
    if (e.classRef && loadedExport(e.classRef) === undefined) pending.push(loadExport(e.classRef));
    if (depth < 8 && e.cause?.kind === "error") visit(e.cause, depth + 1);
    if (depth < 8) for (const inner of e.errors ?? []) visit(inner, depth + 1);
  };
  visit(encoded, 0);
  return pending.length > 0 ? Promise.all(pending) : undefined;
}

/**
 * A `callerStack` for decodeError that is taken later, where the failure is awaited
 * (withAwaitingStack), instead of at the call.
 */
export const STACK_AT_AWAIT: unique symbol = Symbol("multiproc.stackAtAwait");

/** Errors decoded with STACK_AT_AWAIT, to the line of their stack the caller's frames go before. */
const awaitingStack = new WeakMap<Error, string>();

/**
 * Rebuilds an error. `origin` names where it was thrown ("PoolWorker-2 (pid 123,
 * thread 4)"); `callerStack` is the stack of the call that is now failing, or
 * STACK_AT_AWAIT when withAwaitingStack adds it.
 */
export function decodeError(encoded: EncodedError, origin?: string, callerStack?: string | typeof STACK_AT_AWAIT): Error {
  const Class = encoded.errors ? AggregateError : errorClass(encoded);
  const User = userClass(encoded);
  const error: Error =
    Class === (AggregateError as unknown)
      ? new AggregateError(encoded.errors!.map((e) => decodeError(e, origin)), encoded.message)
      : User
        ? // The user's class without running its constructor (its parameters may be anything): as unpickling restores state.
          (Reflect.construct(builtinErrorClasses[encoded.builtinName ?? "Error"] ?? Error, [encoded.message], User) as Error)
        : new Class(encoded.message);
  if (error.name !== encoded.name) {
    Object.defineProperty(error, "name", { value: encoded.name, writable: true, configurable: true, enumerable: false });
  }
  for (const [key, value] of Object.entries(encoded.props)) {
    try {
      (error as unknown as Record<string, unknown>)[key] = value;
    } catch {
      // read-only on this class: leave the class's own value
    }
  }
  if (encoded.cause !== undefined) {
    const cause = encoded.cause.kind === "error" ? decodeError(encoded.cause, origin) : encoded.cause.value;
    Object.defineProperty(error, "cause", { value: cause, writable: true, configurable: true, enumerable: false });
  }
  const remoteStack = encoded.stack ?? `${encoded.name}: ${encoded.message}`;
  const raisedIn = `    --- the error above was raised in ${origin ?? "a worker"} ---`;
  let stack = remoteStack;
  if (callerStack === STACK_AT_AWAIT) {
    stack = `${encoded.name}: ${encoded.message}\n${raisedIn}\n${indentStack(remoteStack)}`;
    awaitingStack.set(error, raisedIn);
  } else if (callerStack) {
    stack = `${callerStack.replace(/^[^\n]*/, `${encoded.name}: ${encoded.message}`)}\n${raisedIn}\n${indentStack(remoteStack)}`;
  }
  Object.defineProperty(error, "stack", { value: stack, writable: true, configurable: true, enumerable: false });
  return error;
}

/**
 * Puts the awaiting caller's frames into an error decoded with STACK_AT_AWAIT, and
 * returns it; any other value is returned as it is. Call it in the rejection handler
 * of the promise the caller awaits: a stack taken there holds, after the library's own
 * frames, V8's async frames of every function awaiting that promise ("at async main
 * (file:line)"), the caller's await included. That costs nothing until an error
 * happens, where Error.captureStackTrace at the call costs 2-3 µs on every call (a
 * third of a tiny task's whole cost in the pool). A caller that never awaits (plain
 * .then) gets the worker's stack and where it was raised, without its own frames.
 */
export function withAwaitingStack(error: unknown): unknown {
  if (typeof error !== "object" || error === null) return error;
  const raisedIn = awaitingStack.get(error as Error);
  if (raisedIn === undefined) return error;
  awaitingStack.delete(error as Error);
  const callerFrames = (new Error().stack ?? "").split("\n").filter((line) => line.startsWith("    at async "));
  const stack = (error as Error).stack;
  const at = stack?.indexOf(`\n${raisedIn}`) ?? -1;
  if (callerFrames.length > 0 && at >= 0) {
    (error as Error).stack = `${stack!.slice(0, at)}\n${callerFrames.join("\n")}${stack!.slice(at)}`;
  }
  return error;
}

function indentStack(stack: string): string {
  return stack
    .split("\n")
    .map((line) => (line.startsWith("    ") ? line : `    ${line}`))
    .join("\n");
}
