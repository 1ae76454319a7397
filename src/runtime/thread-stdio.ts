/**
 * A worker thread's stdout and stderr, written straight to the process's file
 * descriptors 1 and 2. Node's own worker stdio posts each chunk to the main
 * thread, which writes it when its event loop gets to it: a line a worker prints
 * before it releases a Lock or sets an Event can then reach the terminal after a
 * line the main thread prints once it has seen that signal. Python's children,
 * and multiproc's OS processes, share the descriptors and keep the program's
 * order; so do these threads now. (The main thread writes files, pipes and
 * terminals synchronously on Linux, so its lines keep their place too.)
 *
 * Writes that a full non-blocking pipe refuses (EAGAIN) are retried after a
 * short sleep; a reader that went away (EPIPE) drops the output, as nobody can read it.
 */
import { writeSync } from "node:fs";

const pause = new Int32Array(new SharedArrayBuffer(4));

function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") Atomics.wait(pause, 0, 0, 1);
      else if (code === "EPIPE") return;
      else throw error;
    }
  }
}

type WriteCallback = (error?: Error | null) => void;

function directWrite(fd: number) {
  return function write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    if (typeof encoding === "function") {
      callback = encoding;
      encoding = undefined;
    }
    const bytes =
      typeof chunk === "string"
        ? Buffer.from(chunk, encoding ?? "utf8")
        : chunk instanceof Uint8Array
          ? chunk
          : Buffer.from(String(chunk));
    let failure: Error | null = null;
    try {
      writeAll(fd, bytes);
    } catch (error) {
      failure = error as Error;
    }
    if (callback) process.nextTick(callback, failure);
    else if (failure) throw failure;
    return true;
  };
}

/** Makes this worker thread's process.stdout/stderr (and so console) write to fds 1 and 2 directly. */
export function writeStdioDirectly(): void {
  (process.stdout as { write: unknown }).write = directWrite(1);
  (process.stderr as { write: unknown }).write = directWrite(2);
}
