/**
 * What crosses Redis: arguments and results as V8's serialization of plain data (no
 * code: v8.deserialize builds values, never functions), errors as the library's error
 * records (wire/errors.ts) with any user class named by its module under the root, so
 * the caller rebuilds it only from a module it has loaded itself, never imports one.
 */
import { join, resolve } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { deserialize, serialize } from "node:v8";
import { ClusterError } from "../errors.ts";
import { decodeError, encodeError, type EncodedError } from "../wire/errors.ts";
import { pathUnder } from "./task-ref.ts";

const NOT_SENDABLE_ADVICE = "a cluster task's arguments and results must be plain data (numbers, strings, arrays, objects, Map, Set, Date, typed arrays)";

/**
 * A list of numbers as raw float64s (see encodeValue): this tag byte and seven zeros, so
 * that the numbers start 8-aligned in a buffer of their own. V8's serialization starts with 0xFF.
 */
const NUMBERS = 0x01;
const NUMBERS_HEADER = 8;
/** Shorter lists are copied a number at a time: a typed array view costs more than it saves. */
const VIEW_FROM = 32;

/** `value` when it is an array of numbers only (a map's chunk of numbers, an apply's `[x]`, their results), else null. */
function numberList(value: unknown): number[] | null {
  if (!Array.isArray(value)) return null;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== "number") return null;
  return value as number[];
}

function encodeNumbers(numbers: number[]): Buffer {
  const count = numbers.length;
  const bytes = Buffer.alloc(NUMBERS_HEADER + count * 8);
  bytes[0] = NUMBERS;
  if (count < VIEW_FROM || (bytes.byteOffset & 7) !== 0) {
    for (let i = 0; i < count; i++) bytes.writeDoubleLE(numbers[i]!, NUMBERS_HEADER + i * 8);
  } else {
    new Float64Array(bytes.buffer, bytes.byteOffset + NUMBERS_HEADER, count).set(numbers);
  }
  return bytes;
}

function decodeNumbers(bytes: Buffer): number[] {
  const count = (bytes.length - NUMBERS_HEADER) >> 3;
  const numbers = new Array<number>(count);
  if (count < VIEW_FROM) {
    for (let i = 0; i < count; i++) numbers[i] = bytes.readDoubleLE(NUMBERS_HEADER + i * 8);
    return numbers;
  }
  const start = bytes.byteOffset + NUMBERS_HEADER;
  // A reply's bytes sit anywhere in the client's buffer: aligned ones are viewed, others copied first.
  const view = (start & 7) === 0 ? new Float64Array(bytes.buffer, start, count) : new Float64Array(new Uint8Array(bytes.subarray(NUMBERS_HEADER)).buffer);
  for (let i = 0; i < count; i++) numbers[i] = view[i]!;
  return numbers;
}

/**
 * The arguments (or results) of a task, serialized; a ClusterError naming `what` when
 * something cannot leave this machine (a function, a SharedArrayBuffer, a multiproc object
 * holding one). The caller has refused library objects already (Task.wired); no other walk
 * over the value is made, as map's chunks of 10,000 items went through three.
 *
 * A list of numbers, the commonest payload by far, goes as one tag byte and its float64s
 * (exact, -0 and NaN included): a plain copy, where V8's serializer costs an object and a
 * call per value and was a tenth of a small task's time at both ends.
 */
export function encodeValue(value: unknown, what: string): Buffer {
  const numbers = numberList(value);
  if (numbers) return encodeNumbers(numbers);
  try {
    return serialize(value);
  } catch (error) {
    throw new ClusterError(`${what} cannot be sent to another machine (${(error as Error).message}); ${NOT_SENDABLE_ADVICE}`, {
      code: "ERR_MP_CLUSTER_NOT_SENDABLE",
      cause: error,
    });
  }
}

export function decodeValue(bytes: Buffer): unknown {
  return bytes[0] === NUMBERS ? decodeNumbers(bytes) : deserialize(bytes);
}

type ClusterEncodedError = EncodedError & { rootClass?: { module: string; name: string } };

function eachError(encoded: EncodedError, visit: (e: ClusterEncodedError) => void, depth = 0): void {
  visit(encoded);
  if (depth >= 8) return;
  if (encoded.cause?.kind === "error") eachError(encoded.cause, visit, depth + 1);
  for (const inner of encoded.errors ?? []) eachError(inner, visit, depth + 1);
}

/** A thrown value as bytes for the caller; a user error class becomes its module's path under `root`. */
export function encodeClusterError(thrown: unknown, root: string): Buffer {
  const encoded = encodeError(thrown);
  eachError(encoded, (e) => {
    const ref = e.classRef;
    if (!ref) return;
    delete e.classRef;
    const module = ref.module.startsWith("file:") ? pathUnder(root, fileURLToPath(ref.module)) : null;
    if (module !== null) e.rootClass = { module, name: ref.name };
  });
  try {
    return serialize(encoded);
  } catch {
    return serialize(encodeError(new Error(`${encoded.name}: ${encoded.message}`)));
  }
}

/** The error a worker sent, rebuilt; its user class only when that module, under `root`, is loaded here. */
export function decodeClusterError(bytes: Buffer, root: string, origin: string, callerStack?: Parameters<typeof decodeError>[2]): Error {
  const encoded = deserialize(bytes) as EncodedError;
  eachError(encoded, (e) => {
    delete e.classRef;
    // Only data properties of the error itself: a key named __proto__ would set its prototype.
    e.props = Object.fromEntries(Object.entries(e.props ?? {}).filter(([key]) => key !== "__proto__"));
    const rootClass = e.rootClass;
    delete e.rootClass;
    if (!rootClass || typeof rootClass.module !== "string" || typeof rootClass.name !== "string") return;
    const path = resolve(join(root, rootClass.module));
    if (pathUnder(root, path) === null) return;
    e.classRef = { kind: "export", module: pathToFileURL(path).href, name: rootClass.name };
  });
  return decodeError(encoded, origin, callerStack);
}
