/**
 * How a cluster task names its function: by reference only (issue 12, item 3). A call
 * carries the module's path relative to the project root, the export name and a hash of
 * the module's content; the worker runs only exports of the modules it loaded with
 * `--module`, and refuses a task whose module's content differs from its own copy. No
 * source text ever crosses, so nothing read from Redis is run as code.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { isAbsolute, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ClusterError } from "../errors.ts";
import type { FunctionRef } from "../wire/functions.ts";

/** A function as a cluster task names it. */
export interface ClusterTaskRef {
  /** The module's path relative to the root, with forward slashes. */
  module: string;
  /** The export's name. */
  name: string;
  /** The first 16 hex digits of the SHA-256 of the module's file. */
  hash: string;
}

const hashes = new Map<string, { mtimeMs: number; size: number; hash: string }>();

/** The content hash of the module file at `path`, read again only when the file changed. */
export function moduleHash(path: string): string {
  const { mtimeMs, size } = statSync(path);
  const known = hashes.get(path);
  if (known && known.mtimeMs === mtimeMs && known.size === size) return known.hash;
  const hash = createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16);
  hashes.set(path, { mtimeMs, size, hash });
  return hash;
}

/** `path` relative to `root` with forward slashes, or null when it is not under `root`. */
export function pathUnder(root: string, path: string): string | null {
  const rel = relative(root, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return null;
  return rel.split(sep).join("/");
}

const HOW_TO = "export it from a module under the project root and start the workers with `npx multiproc worker --module <that module>`";

/** The cluster reference of a function the Pool resolved (resolveFunction), or a ClusterError that says what to do. */
export function clusterTaskRef(ref: FunctionRef, root: string): ClusterTaskRef {
  if (ref.kind !== "export") {
    const what = ref.kind === "global" ? `the built-in \`${ref.path}\`` : `\`${ref.name || "an anonymous function"}\`, which is not exported from a module`;
    throw new ClusterError(`A cluster Pool runs only exported functions, by reference; got ${what}. To run it on the cluster, ${HOW_TO}`, {
      code: "ERR_MP_CLUSTER_NOT_EXPORTED",
    });
  }
  if (!ref.module.startsWith("file:")) {
    throw new ClusterError(`A cluster task's module must be a file; \`${ref.name}\` comes from ${ref.module}. To run it on the cluster, ${HOW_TO}`, {
      code: "ERR_MP_CLUSTER_NOT_EXPORTED",
    });
  }
  const path = fileURLToPath(ref.module);
  const module = pathUnder(root, path);
  if (module === null) {
    throw new ClusterError(
      `\`${ref.name}\` comes from ${path}, outside the cluster's root ${root}; workers find modules by their path under the root. ` +
        `Move the module under the root, or set \`cluster.root\` to a directory that holds it (the workers' --root must be the same project)`,
      { code: "ERR_MP_CLUSTER_NOT_EXPORTED" },
    );
  }
  return { module, name: ref.name, hash: moduleHash(path) };
}

/** What a task entry says about its call, the same for every task of one job: its "f" field. */
export interface TaskCall extends ClusterTaskRef {
  /** starmap/apply: each item is a list of arguments. */
  star: boolean;
  /** ms, from the task's start on the worker. */
  timeout: number | undefined;
}

/** The "f" field of a job's task entries: one field, written once a job, where five took a map lookup and a conversion each per task. */
export function encodeTaskCall(call: TaskCall): string {
  return JSON.stringify([call.module, call.name, call.hash, call.star ? 1 : 0, call.timeout ?? null]);
}

/** The "f" field read back (as data: JSON.parse builds no code), or null when it is not one. */
export function decodeTaskCall(field: string): TaskCall | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(field);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) return null;
  const [module, name, hash, star, timeout] = parsed as unknown[];
  if (typeof module !== "string" || typeof name !== "string" || typeof hash !== "string") return null;
  if (star !== 0 && star !== 1) return null;
  if (timeout !== null && (typeof timeout !== "number" || !(timeout > 0))) return null;
  return { module, name, hash, star: star === 1, timeout: timeout ?? undefined };
}
