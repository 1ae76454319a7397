/**
 * A worker's first steps (CPython's process._bootstrap): take on its identity,
 * learn its parent's known modules and TypeScript loader, import the `modules` option,
 * then hand over to its role: the pool loop or a Process target.
 */
import { isMainThread, threadId } from "../util/lean-builtins.ts";
import { setRootPid } from "../memory/shm.ts";
import { becomeWorker } from "../process-identity.ts";
import { encodeError } from "../wire/errors.ts";
import { rememberModule, setEntryModule } from "../wire/functions.ts";
import type { BootstrapData } from "../wire/protocol.ts";
import { importModule, setTypeScriptLoader } from "../util/import-module.ts";
import type { ParentChannel } from "./channel.ts";
import { loadLibrary } from "./library.ts";
// Static imports: in the same load as the entry, where a dynamic one cost another module load after the bootstrap came.
import { runPoolWorker } from "./pool-worker.ts";
import { runProcessWorker } from "./process-worker.ts";

/** Runs a worker from its bootstrap data; failures while starting are reported, then the worker exits 1. */
export async function runWorker(data: BootstrapData, channel: ParentChannel): Promise<void> {
  becomeWorker(
    { name: data.identity.name, daemon: data.identity.daemon, pid: process.pid, ident: isMainThread ? process.pid : threadId },
    data.parent,
    data.identity.path,
    Buffer.from(data.authkey, "hex"),
  );
  setRootPid(data.rootPid);
  setEntryModule(data.entryModule);
  for (const url of data.registeredModules) rememberModule(url);
  setTypeScriptLoader(data.loader, data.compiledModules);
  try {
    // A Process's target and arguments usually hold library objects; a pool worker loads them when a task does.
    if (data.role !== "pool") await loadLibrary();
    for (const url of data.preloadModules) {
      rememberModule(url);
      await importModule(url);
    }
  } catch (error) {
    channel.post({ type: "startup-failed", error: encodeError(error) });
    return channel.exit(1);
  }
  if (data.role === "pool") await runPoolWorker(data, channel);
  else await runProcessWorker(data, channel);
}
