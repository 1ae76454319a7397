/**
 * The worker's side of its link to the parent: the runtime speaks only through
 * this, so the same pool loop and process runner serve threads and OS processes.
 */
import type { TransferListItem } from "node:worker_threads";
import type { ParentMessage, WorkerMessage } from "../wire/protocol.ts";

export interface ParentChannel {
  /** Posts to the parent; throws synchronously if the message cannot be cloned. */
  post(message: WorkerMessage, transfer?: readonly TransferListItem[]): void;
  /** Registers the one listener for the parent's messages. */
  onMessage(listener: (message: ParentMessage) => void): void;
  /** Ends this worker with Python's exit code, after pending output is flushed. */
  exit(code: number): never;
}
