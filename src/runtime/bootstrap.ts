/**
 * A worker's first steps (CPython's process._bootstrap): take on its identity,
 * learn its parent's known modules and TypeScript loader, import the `modules` option,
 * then hand over to its role: the pool loop or a Process target.
 */
import { isMainThread, threadId } from "node:worker_threads";
import "../index.ts"; // every library class registers its wire reviver
import { setRootPid } from "../memory/shm.ts";
import { becomeWorker } from "../process-identity.ts";
import { encodeError } from "../wire/errors.ts";
import { rememberModule, setEntryModule } from "../wire/functions.ts";
import type { BootstrapData } from "../wire/protocol.ts";
import { importModule, setTypeScriptLoader } from "../util/import-module.ts";
import type { ParentChannel } from "./channel.ts";

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
    for (const url of data.preloadModules) {
      rememberModule(url);
      await importModule(url);
    }
  } catch (error) {
    channel.post({ type: "startup-failed", error: encodeError(error) });
    return channel.exit(1);
  }
  if (data.role === "pool") {
    const { runPoolWorker } = await import("./pool-worker.ts");
    await runPoolWorker(data, channel);
  } else {
    const { runProcessWorker } = await import("./process-worker.ts");
    await runProcessWorker(data, channel);
  }
}
