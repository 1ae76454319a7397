/**
 * What crosses Redis: arguments and results as raw numbers or V8's serialization of plain data (no
 * code: v8.deserialize builds values, never functions), errors as the library's error
 * records (wire/errors.ts) with any user class named by its module under the root, so
 * the caller rebuilds it only from a module it has loaded itself, never imports one.
 */
import { join, resolve } from "node:path";
import { pathToFileURL, fileURLToPath } from "node:url";
import { deserialize, serialize } from "node:v8";
import { ClusterError } from "../errors.ts";
import { decodeError, encodeError, type EncodedError } from "../wire/errors.ts";
import { isPackedNumbers, packNumberLists, unpackNumberLists } from "./number-lists.ts";
import { pathUnder } from "./task-ref.ts";

const NOT_SENDABLE_ADVICE = "a cluster task's arguments and results must be plain data (numbers, strings, arrays, objects, Map, Set, Date, typed arrays)";

/**
 * The arguments (or results) of a task, serialized; a ClusterError naming `what` when
 * something cannot leave this machine (a function, a SharedArrayBuffer, a multiproc object
 * holding one). The caller has refused library objects already (Task.wired); no other walk
 * over the value is made, as map's chunks of 10,000 items went through three.
 * Lists of numbers, the commonest payloads by far, go as raw float64s (number-lists.ts).
 */
export function encodeValue(value: unknown, what: string): Buffer {
  const packed = packNumberLists(value);
  if (packed) return packed;
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
  return isPackedNumbers(bytes) ? unpackNumberLists(bytes) : deserialize(bytes);
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
