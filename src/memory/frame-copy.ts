/**
 * Moving frame payloads into and out of a MessageRing's shared memory, with the
 * copy method that is fastest for each size (the thresholds below were measured).
 */
import { native } from "../util/native.ts";
import type { FrameDecoder } from "./frame.ts";

/**
 * Payloads from this many bytes up are copied with the native memcpy. Why: V8
 * copies a Uint8Array into or out of a SharedArrayBuffer with relaxed atomic
 * stores, about 3.5x slower than memcpy at 64 KiB (2.1 µs against 0.6 µs), while a
 * native call costs about 50 ns. Measured on Node 20 (x64): `set` wins at 64 bytes
 * (47 ns against 64), native wins from 256 (42 against 54) and grows with size.
 */
const NATIVE_COPY_BYTES = 256;

/**
 * Frames from this many bytes up are copied out of shared memory (native memcpy,
 * into a reused private buffer) before they are decoded: the consumer lock is then
 * held for the memcpy only, not for the decode, and the decoder's own copies read
 * private memory at memcpy speed. Below it the extra copy costs more than it saves
 * (measured, native copy out + `set` from private memory against `set` from shared
 * memory: even at 2 KiB, 150 ns against 200 ns at 4 KiB, 1.2 µs against 2.1 µs at 64 KiB).
 */
export const COPY_OUT_BYTES = 4096;

/** The reused copy-out buffer is kept up to this size; bigger frames get a buffer of their own. */
const KEEP_OUT_BYTES = 1024 * 1024;

/** Copies `length` bytes of `src` to `dst[at]` in shared memory (see NATIVE_COPY_BYTES). */
export function copyToShared(dst: Uint8Array, at: number, src: Uint8Array, length: number): void {
  if (length >= NATIVE_COPY_BYTES) {
    native().copy(dst, at, src, 0, length);
  } else {
    dst.set(length === src.length ? src : src.subarray(0, length), at);
  }
}

/** A private copy of a frame's payload, decoded after the consumer lock is released. */
export interface Detached {
  kind: number;
  bytes: Buffer;
  view: DataView;
  length: number;
}

/** This thread's copy-out buffer; undefined while a decode is using it (a nested read then allocates). */
let outBuffer: Buffer | undefined = Buffer.allocUnsafeSlow(64 * 1024);
let outView = new DataView(outBuffer.buffer, outBuffer.byteOffset, outBuffer.byteLength);

/** Copies a frame's payload out of shared memory (offset 0 of the result keeps the 8-byte alignment frames have). */
export function detachFrame(kind: number, bytes: Uint8Array, offset: number, length: number): Detached {
  let buffer = outBuffer;
  let view = outView;
  if (buffer === undefined || buffer.length < length) {
    buffer = Buffer.allocUnsafeSlow(length <= KEEP_OUT_BYTES ? Math.max(length, 64 * 1024) : length);
    view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (outBuffer !== undefined && length <= KEEP_OUT_BYTES) {
      // Grow the kept buffer (not in use: outBuffer is undefined while a decode runs).
      outBuffer = buffer;
      outView = view;
    }
  }
  native().copy(buffer, 0, bytes, offset, length);
  return { kind, bytes: buffer, view, length };
}

/**
 * Decodes a detached frame. While the decode runs, the copy-out buffer counts as
 * in use (a read nested in the decode copies into a buffer of its own). Afterwards
 * the frame's buffer is the kept one again if it was, or becomes it if none is kept
 * and it is at most KEEP_OUT_BYTES.
 */
export function decodeDetached<R>(frame: Detached, decode: FrameDecoder<R>): R {
  const reused = frame.bytes === outBuffer;
  if (reused) outBuffer = undefined;
  try {
    return decode(frame.kind, frame.bytes, frame.view, 0, frame.length);
  } finally {
    if (reused || (outBuffer === undefined && frame.bytes.length <= KEEP_OUT_BYTES)) {
      outBuffer = frame.bytes;
      outView = frame.view;
    }
  }
}
