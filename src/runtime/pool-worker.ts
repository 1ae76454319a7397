/**
 * A pool worker's loop (CPython's pool.worker): run the initializer once, say
 * "ready", then run the tasks the parent posts, one at a time and in order, and
 * post each chunk's results. After maxTasksPerChild tasks it says "retiring" and
 * exits; a "stop" message ends it once the current task is done.
 *
 * The parent may post a task while another is still running here (pipelining);
 * tasks wait in `queue` and never overlap, so a task's start is the previous
 * task's end.
 */
import type { TransferListItem } from "node:worker_threads";
import { isTransfer } from "../transfer.ts";
import { uncloneableError } from "../wire/clone-check.ts";
import { encodeError } from "../wire/errors.ts";
import { loadFunction } from "../wire/functions.ts";
import type { FunctionRef } from "../wire/functions.ts";
import type { ParentMessage, PoolBootstrap, TaskMessage, WorkerMessage } from "../wire/protocol.ts";
import { decodeFromWire, encodeForWire } from "../wire/serialize.ts";
import type { ParentChannel } from "./channel.ts";

type Task = (...args: unknown[]) => unknown;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** Caches the last function: a job's chunks name the same function again and again. */
let lastRef: FunctionRef | undefined;
let lastFn: Task | undefined;

function sameRef(a: FunctionRef, b: FunctionRef): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case "export":
      return a.module === (b as typeof a).module && a.name === (b as typeof a).name;
    case "global":
      return a.path === (b as typeof a).path;
    case "source":
      return a.source === (b as typeof a).source;
  }
}

async function resolveTask(ref: FunctionRef): Promise<Task> {
  if (lastRef && lastFn && sameRef(lastRef, ref)) return lastFn;
  const fn = (await loadFunction(ref)) as Task;
  lastRef = ref;
  lastFn = fn;
  return fn;
}

/** Runs one chunk; returns the message to post and what it transfers. */
async function runChunk(task: TaskMessage): Promise<{ message: WorkerMessage; transfer?: TransferListItem[] }> {
  const { job, chunk } = task;
  try {
    const fn = await resolveTask(task.fn);
    const items = task.wired ? (decodeFromWire(task.items) as unknown[]) : task.items;
    const values = new Array<unknown>(items.length);
    let transfer: TransferListItem[] | undefined;
    for (let i = 0; i < items.length; i++) {
      let value = task.star ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(value)) value = await value;
      if (isTransfer(value)) {
        (transfer ??= []).push(...value.transferList);
        value = value.value;
      }
      values[i] = value;
    }
    let wired = false;
    let encodedValues: unknown = values;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (typeof value === "object" && value !== null) {
        ({ value: encodedValues, wired } = encodeForWire(values));
        break;
      }
    }
    const encoded = { value: encodedValues, wired };
    return {
      message: { type: "result", job, chunk, ok: true, values: encoded.value as unknown[], wired: encoded.wired },
      transfer,
    };
  } catch (error) {
    return { message: { type: "result", job, chunk, ok: false, error: encodeError(error) } };
  }
}

/** Posts a chunk's result; a result that cannot be cloned fails that task only. */
function postResult(channel: ParentChannel, task: TaskMessage, message: WorkerMessage, transfer?: TransferListItem[]): void {
  try {
    channel.post(message, transfer);
  } catch (cloneError) {
    const values = (message as { values: unknown[] }).values;
    let error: TypeError;
    if (task.start === null) {
      error = uncloneableError(values[0], "result", "the task's result back to the caller", cloneError);
    } else {
      let bad = 0;
      for (let i = 0; i < values.length; i++) {
        try {
          structuredClone(values[i]);
        } catch {
          bad = i;
          break;
        }
      }
      error = uncloneableError(values[bad], `results[${task.start + bad}]`, "a task's result back to the caller", cloneError);
    }
    channel.post({ type: "result", job: task.job, chunk: task.chunk, ok: false, error: encodeError(error) });
  }
}

export async function runPoolWorker(data: PoolBootstrap, channel: ParentChannel): Promise<void> {
  try {
    if (data.initializer) {
      const initializer = (await loadFunction(data.initializer)) as Task;
      const args = data.initArgsWired ? (decodeFromWire(data.initArgs) as unknown[]) : data.initArgs;
      const result = initializer(...args);
      if (isThenable(result)) await result;
    }
  } catch (error) {
    channel.post({ type: "startup-failed", error: encodeError(error) });
    channel.exit(1);
  }

  const queue: TaskMessage[] = [];
  let running = false;
  let stopping = false;
  let completed = 0;

  const pump = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) {
      const task = queue.shift()!;
      const { message, transfer } = await runChunk(task);
      postResult(channel, task, message, transfer);
      completed++;
      if (data.maxTasks !== null && completed >= data.maxTasks) {
        channel.post({ type: "retiring" });
        channel.exit(0);
      }
    }
    running = false;
    if (stopping) channel.exit(0);
  };

  channel.onMessage((message: ParentMessage) => {
    switch (message.type) {
      case "task":
        queue.push(message);
        if (!running) void pump();
        break;
      case "steal": {
        const index = queue.findIndex((task) => task.job === message.job && task.chunk === message.chunk);
        if (index >= 0) {
          queue.splice(index, 1);
          channel.post({ type: "stolen", job: message.job, chunk: message.chunk });
        }
        break;
      }
      case "stop":
        stopping = true;
        if (!running) channel.exit(0);
        break;
      default:
        break;
    }
  });
  channel.post({ type: "ready" });
}
