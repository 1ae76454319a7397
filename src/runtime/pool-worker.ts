/**
 * A pool worker's loop (CPython's pool.worker): run the initializer once, say
 * "ready", then run the tasks the parent posts, one at a time and in order, and
 * answer each chunk, in order: in the result ring (see writeResult), or as a
 * message when it cannot go there. After maxTasksPerChild tasks it says "retiring" and
 * exits; a "stop" message ends it once the current task is done.
 *
 * The parent may post a task while another is still running here (pipelining);
 * tasks wait in `queue` and never overlap, so a task's start is the previous
 * task's end.
 */
import type { TransferListItem } from "node:worker_threads";
import { isMainThread } from "../util/lean-builtins.ts";
import { CLOSED, MessageRing, NOTHING } from "../memory/ring.ts";
import { isTransfer } from "../transfer.ts";
import { uncloneableError } from "../wire/clone-check.ts";
import { warmCopies } from "../wire/copy-to-transfer.ts";
import { encodeError } from "../wire/errors.ts";
import { loadFunction } from "../wire/functions.ts";
import type { FunctionRef } from "../wire/functions.ts";
import type { ParentMessage, PoolBootstrap, ResultMessage, TaskMessage } from "../wire/protocol.ts";
import { decodeFrame } from "../wire/message-codec.ts";
import { resultFrame, taskFromFrame, type TaskFrame } from "../wire/pool-frames.ts";
import { RingSend, sendThroughRing } from "../wire/ring-send.ts";
import { decodeFromWire, encodeForWire, revivalsSettled } from "../wire/serialize.ts";
import type { ParentChannel } from "./channel.ts";
import { loadLibrary } from "./library.ts";

type Task = (...args: unknown[]) => unknown;

/** Whether loadLibrary() has settled: library objects among a task's arguments can then be rebuilt at once. */
let libraryLoaded = false;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/**
 * The function table (see TaskMessage.fn): number -> reference, and the function
 * once loaded. A reference whose load failed stays, unloaded, so the next task
 * naming it tries again and fails the same way (loadFunction forgets failures).
 */
const refs: (FunctionRef | undefined)[] = [];
const functions: (Task | undefined)[] = [];

async function loadTask(id: number): Promise<Task> {
  const ref = refs[id];
  if (!ref) throw new Error(`Internal error: pool task names function ${id}, which this worker was never sent`);
  const fn = (await loadFunction(ref)) as Task;
  functions[id] = fn;
  return fn;
}

/**
 * A chunk's answer, numbered (`seq`) when it is sent. `raw`: the values before
 * encodeForWire, when it replaced library objects in them (the result ring's codec
 * carries those itself).
 */
type Outcome = { message: ResultMessage; transfer?: TransferListItem[] | undefined; raw?: unknown[] };

function failed(task: TaskMessage, error: unknown): Outcome {
  return { message: { type: "result", seq: -1, job: task.job, chunk: task.chunk, ok: false, error: encodeError(error) } };
}

/**
 * Runs one chunk. Synchronous while everything is (the function is loaded and
 * returns plain values), so a stream of small tasks costs no promise or
 * microtask; it goes asynchronous from the first thenable (or unloaded function)
 * on, and awaits exactly where the all-async version awaited.
 */
function runChunk(task: TaskMessage): Outcome | Promise<Outcome> {
  const fn = functions[task.fn];
  if (fn === undefined) return loadTask(task.fn).then((loaded) => runItems(task, loaded), (error: unknown) => failed(task, error));
  return runItems(task, fn);
}

function runItems(task: TaskMessage, fn: Task): Outcome | Promise<Outcome> {
  if (task.wired && !libraryLoaded) return loadLibrary().then(() => ((libraryLoaded = true), runItems(task, fn)), (error: unknown) => failed(task, error));
  let items: unknown[];
  try {
    items = task.wired ? (decodeFromWire(task.items) as unknown[]) : task.items;
  } catch (error) {
    return failed(task, error);
  }
  // Objects among the arguments finish reviving (a Barrier's action) before the task sees them.
  const reviving = task.wired ? revivalsSettled() : undefined;
  if (reviving) return reviving.then(() => runDecoded(task, fn, items));
  return runDecoded(task, fn, items);
}

function runDecoded(task: TaskMessage, fn: Task, items: unknown[]): Outcome | Promise<Outcome> {
  const values = new Array<unknown>(items.length);
  const state: { transfer: TransferListItem[] | undefined } = { transfer: undefined };
  const star = task.star;
  try {
    for (let i = 0; i < items.length; i++) {
      const value = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(value)) return finishAsync(task, fn, items, values, i, value, state);
      values[i] = unwrapTransfer(value, state);
    }
  } catch (error) {
    return failed(task, error);
  }
  return resultOf(task, values, state.transfer);
}

/** The rest of a chunk once item `i` returned a thenable. */
async function finishAsync(
  task: TaskMessage,
  fn: Task,
  items: unknown[],
  values: unknown[],
  i: number,
  pending: PromiseLike<unknown>,
  state: { transfer: TransferListItem[] | undefined },
): Promise<Outcome> {
  try {
    values[i] = unwrapTransfer(await pending, state);
    for (i++; i < items.length; i++) {
      let value = task.star ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(value)) value = await value;
      values[i] = unwrapTransfer(value, state);
    }
    return resultOf(task, values, state.transfer);
  } catch (error) {
    return failed(task, error);
  }
}

function unwrapTransfer(value: unknown, state: { transfer: TransferListItem[] | undefined }): unknown {
  if (!isTransfer(value)) return value;
  (state.transfer ??= []).push(...value.transferList);
  return value.value;
}

function resultOf(task: TaskMessage, values: unknown[], transfer: TransferListItem[] | undefined): Outcome {
  // encodeForWire only when some value is an object (primitives hold no library objects).
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === "object" && value !== null) {
      try {
        const encoded = encodeForWire(values);
        return {
          message: { type: "result", seq: -1, job: task.job, chunk: task.chunk, ok: true, values: encoded.value as unknown[], wired: encoded.wired },
          transfer,
          ...(encoded.wired ? { raw: values } : {}),
        };
      } catch (error) {
        return failed(task, error);
      }
    }
  }
  return { message: { type: "result", seq: -1, job: task.job, chunk: task.chunk, ok: true, values, wired: false }, transfer };
}

/**
 * How long an idle worker waits on its task ring (ms) before it goes back to its event
 * loop. The parent is most often writing the next tasks at that moment (it takes a batch
 * of answers and sends a task for each): a worker that waits on the ring is woken by the
 * write itself, where one back in its event loop needs a doorbell message, which costs
 * the parent a postMessage or an IPC write per wake-up (about a tenth of its time on a
 * stream of tiny tasks). The wait is a futex sleep after a short look, not a spin, and it
 * is short because the event loop, with its messages ("stop") and timers, waits meanwhile.
 */
const LINGER_MS = 1;

/**
 * Only worker threads linger. A child process waits on a futex in OS shared memory,
 * and then every task the parent writes meanwhile costs the parent a native futex wake
 * (W1 on processes measured 10% slower with the linger, threads 15-25% faster).
 */
const LINGERS = !isMainThread;

/**
 * Waits up to LINGER_MS for a task to be written into `ring`; true if one was. While it
 * waits, the worker holds the ring's doorbell, so the parent sends no message for what it
 * writes meanwhile (MessageRing.claimDoorbell); false, at once, when a doorbell message is
 * on its way already. A task posted as a message (one with a transfer list: W4's arrays)
 * ends the wait too (MessageRing.messageComing), or the worker would sit on it for 1 ms.
 * After it lets the doorbell go, it looks once more: a task written between the end of
 * the wait and the release found the doorbell held and sent nothing.
 */
function lingerForTasks(ring: MessageRing): boolean {
  if (!ring.claimDoorbell()) return false;
  const arrived = ring.lingerSync(LINGER_MS);
  ring.answerDoorbell();
  return arrived || ring.size > 0;
}

/**
 * Writes a chunk's result into the result ring (see sendThroughRing). False when it
 * must be posted instead: it transfers buffers, or sendThroughRing declined it.
 */
function writeResult(ring: MessageRing, channel: ParentChannel, outcome: Outcome): boolean {
  if (outcome.transfer !== undefined) return false;
  const { message, raw } = outcome;
  // The ring's codec carries library objects itself: the values as they were, not their wire form.
  const plain = raw && message.ok ? { ...message, values: raw, wired: false } : message;
  const sent = sendThroughRing(ring, resultFrame(plain), "a task's result back to the caller");
  if (sent === RingSend.WrittenRingDoorbell) channel.post({ type: "results" });
  return sent !== RingSend.Declined;
}

/** Posts a chunk's result; a result that cannot be cloned fails that task only. */
function postResult(channel: ParentChannel, task: TaskMessage, message: ResultMessage, transfer?: TransferListItem[]): void {
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
    channel.post({ type: "result", seq: message.seq, job: task.job, chunk: task.chunk, ok: false, error: encodeError(error) });
  }
}

export async function runPoolWorker(data: PoolBootstrap, channel: ParentChannel): Promise<void> {
  try {
    if (data.initializer) {
      const initializer = (await loadFunction(data.initializer)) as Task;
      if (data.initArgsWired) await loadLibrary();
      const args = data.initArgsWired ? (decodeFromWire(data.initArgs) as unknown[]) : data.initArgs;
      const result = initializer(...args);
      if (isThenable(result)) await result;
    }
  } catch (error) {
    channel.post({ type: "startup-failed", error: encodeError(error) });
    return channel.exit(1);
  }

  const queue: TaskMessage[] = [];
  let running = false;
  let stopping = false;
  let completed = 0;
  const results = MessageRing.open(data.results);
  let answered = 0;
  const taskRing = MessageRing.open(data.tasks);
  /** The seq of the task to queue next, and tasks that came ahead of their turn. */
  let nextTask = 0;
  const early = new Map<number, TaskMessage>();

  const accept = (task: TaskMessage): void => {
    if (task.seq !== nextTask) {
      early.set(task.seq, task);
      return;
    }
    for (let next: TaskMessage | undefined = task; next; next = early.get(nextTask)) {
      early.delete(nextTask);
      nextTask++;
      if (next.ref !== undefined) refs[next.fn] = next.ref;
      queue.push(next);
    }
  };

  /** Queues every task waiting in the ring. */
  const takeTasks = (): void => {
    for (;;) {
      const task = taskRing.tryRead(decodeFrame);
      if (task === NOTHING || task === CLOSED) return;
      accept(taskFromFrame(task as TaskFrame));
    }
  };

  /** Answers a finished chunk; retires the worker after its maxTasksPerChild-th. */
  const finish = (task: TaskMessage, outcome: Outcome): void => {
    outcome.message.seq = answered++;
    if (!writeResult(results, channel, outcome)) postResult(channel, task, outcome.message, outcome.transfer);
    completed++;
    if (data.maxTasks !== null && completed >= data.maxTasks) {
      channel.post({ type: "retiring" });
      channel.exit(0);
    }
  };

  /**
   * Runs the queued tasks one after another. Synchronous chunks are run and
   * answered in this loop; at an asynchronous one the loop waits for it and
   * resumes. `running` stays true meanwhile, so tasks never overlap.
   */
  const pump = (): void => {
    running = true;
    for (;;) {
      // A busy worker finds the tasks queued meanwhile in its ring, without a message or a sleep.
      if (taskRing.size > 0) takeTasks();
      if (queue.length === 0) {
        // Idle: the next tasks are most often being written now; wait for them on the ring a moment.
        if (LINGERS && !stopping && lingerForTasks(taskRing)) continue;
        break;
      }
      const task = queue.shift()!;
      // The parent took it back for an idle worker (see MessageRing.claimTask).
      if (!taskRing.claimTask(task.seq)) continue;
      const outcome = runChunk(task);
      if (outcome instanceof Promise) {
        void outcome.then((done) => {
          finish(task, done);
          pump();
        });
        return;
      }
      finish(task, outcome);
    }
    running = false;
    if (stopping) channel.exit(0);
  };

  channel.onMessage((message: ParentMessage) => {
    switch (message.type) {
      case "tasks":
        taskRing.answerDoorbell();
        takeTasks();
        if (!running) pump();
        break;
      case "task":
        taskRing.messageArrived();
        // The tasks written into the ring before this one was posted come first.
        takeTasks();
        accept(message);
        // A thread's big arguments were copied by the parent's core: read them in if this task runs next.
        if (!isMainThread && !running && queue.length === 1 && queue[0] === message && !message.wired) warmCopies(message.items);
        if (!running) pump();
        break;
      case "stop":
        stopping = true;
        if (!running) channel.exit(0);
        break;
      default:
        break;
    }
  });
  channel.post({ type: "ready" });
  // A task may have been written for us while we started (the scheduler sends a pool's
  // first tasks ahead of "ready"); its doorbell message is still on its way to a thread.
  if (!running && taskRing.size > 0) pump();
}
