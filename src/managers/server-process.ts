/**
 * The target of a manager's own OS process (CPython's `BaseManager._run_server`):
 * builds the registry from what the parent sent (SyncManager's built-in types by
 * name, the user's types as references to exported functions or classes, which
 * it imports), listens, tells the parent the address it serves, and serves until
 * a client shuts it down.
 */
import type { Connection } from "../connection.ts";
import { loadFunction, type FunctionRef } from "../wire/functions.ts";
import type { Address } from "./address.ts";
import { syncManagerTypes } from "./builtins.ts";
import { Server, type Factory } from "./server.ts";
// For the bundle: see worker-core.ts.
import "../runtime/worker-core.ts";

export type ServedType = { typeid: string; builtin: string } | { typeid: string; ref: FunctionRef };

export interface ServerConfig {
  address: Address;
  /** Hex. */
  authkey: string;
  types: ServedType[];
  maxFrameBytes?: number;
}

export type ReadyMessage = { address: Address } | { error: string };

export async function runManagerServer(config: ServerConfig, ready: Connection<ReadyMessage>): Promise<void> {
  let server: Server;
  try {
    const registry = new Map<string, Factory>();
    for (const type of config.types) {
      registry.set(type.typeid, "builtin" in type ? syncManagerTypes[type.builtin]! : ((await loadFunction(type.ref)) as Factory));
    }
    server = new Server({ address: config.address, authkey: Buffer.from(config.authkey, "hex"), registry, maxFrameBytes: config.maxFrameBytes });
    ready.send({ address: await server.listen() });
  } catch (error) {
    ready.send({ error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    return;
  } finally {
    ready.close();
  }
  await server.serveForever();
}
