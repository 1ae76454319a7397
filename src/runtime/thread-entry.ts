/** The file a worker thread loads: wires the runtime to its parent port. */
import { parentPort, workerData } from "node:worker_threads";
import type { BootstrapData } from "../wire/protocol.ts";
import { runWorker } from "./bootstrap.ts";
import { writeStdioDirectly } from "./thread-stdio.ts";
// For the bundle: see worker-core.ts.
import "./worker-core.ts";
import type { ParentChannel } from "./channel.ts";

const port = parentPort!;

const channel: ParentChannel = {
  post: (message, transfer) => port.postMessage(message, transfer),
  onMessage: (listener) => {
    port.on("message", listener);
  },
  exit: (code) => process.exit(code),
};

writeStdioDirectly();
await runWorker(workerData as BootstrapData, channel);
