/**
 * Tasks and results as the pool's rings carry them: tuples rather than the message
 * objects, so the ring's codec writes and reads no field names. With the names, a
 * tiny task's frames held nine and seven of them, and encoding and decoding them
 * (a string built per name per frame) was about a fifth of the parent's whole cost
 * per task. Messages posted beside the rings keep the object form of protocol.ts.
 */
import type { EncodedError } from "./errors.ts";
import { fastEncodeFields } from "./fast-codec.ts";
import type { FunctionRef } from "./functions.ts";
import type { ResultMessage, TaskMessage } from "./protocol.ts";

const STAR = 1;

/** [seq, job, chunk, fn, items, flags (1: star), start] plus ref when the task carries one. */
export type TaskFrame = [number, number, number, number, unknown[], number, number | null, FunctionRef?];

/** [seq, job, chunk, 1, values, wired] or [seq, job, chunk, 0, error, 0]. */
export type ResultFrame = [number, number, number, 1 | 0, unknown, 0 | 1];

/**
 * A task's frame for its worker's ring, from its parts (no TaskMessage first; only tasks
 * without library objects go through a ring). Fast-encoded straight into the codec's
 * scratch buffer, with no tuple made (fastEncodeFields): its length. TOO_BIG when it holds
 * a byte or typed array of more than `maxBinary` bytes. When its arguments need V8's
 * serializer, the tuple itself, for the caller to encode that way.
 */
export function encodeTaskFrame(
  seq: number,
  job: number,
  chunk: number,
  fn: number,
  items: unknown[],
  star: boolean,
  start: number | null,
  ref: FunctionRef | undefined,
  maxBinary: number,
): number | TaskFrame {
  const flags = star ? STAR : 0;
  const length = fastEncodeFields(ref === undefined ? 7 : 8, seq, job, chunk, fn, items, flags, start, ref, maxBinary);
  if (length !== -1) return length;
  return ref === undefined ? [seq, job, chunk, fn, items, flags, start] : [seq, job, chunk, fn, items, flags, start, ref];
}

export function taskFromFrame(frame: TaskFrame): TaskMessage {
  const [seq, job, chunk, fn, items, flags, start, ref] = frame;
  const task: TaskMessage = { type: "task", seq, job, chunk, fn, items, star: (flags & STAR) !== 0, wired: false, start };
  if (ref !== undefined) task.ref = ref;
  return task;
}

export function resultFrame(result: ResultMessage): ResultFrame {
  return result.ok
    ? [result.seq, result.job, result.chunk, 1, result.values, result.wired ? 1 : 0]
    : [result.seq, result.job, result.chunk, 0, result.error, 0];
}

export function resultFromFrame(frame: ResultFrame): ResultMessage {
  const [seq, job, chunk, ok, payload, wired] = frame;
  return ok === 1
    ? { type: "result", seq, job, chunk, ok: true, values: payload as unknown[], wired: wired === 1 }
    : { type: "result", seq, job, chunk, ok: false, error: payload as EncodedError };
}
