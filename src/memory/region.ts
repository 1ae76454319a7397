/**
 * SharedRegion: a block of memory shared by every worker that holds its handle.
 *
 * Every primitive (locks, queues, values) keeps its state in a region and talks to
 * it only through typed views, so the process context can swap SharedArrayBuffer
 * for OS shared memory here and leave the primitives untouched.
 *
 * The handle is what crosses a worker boundary: in the thread context it is the
 * SharedArrayBuffer itself (structured clone shares it; the byte serializer stashes
 * it through the native addon).
 */

import { native } from "../util/native.ts";

export type RegionHandle = { kind: "sab"; buffer: SharedArrayBuffer };

export class SharedRegion {
  readonly buffer: SharedArrayBuffer;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
  }

  /** Allocates a zero-filled region of `byteLength` bytes. */
  static create(byteLength: number): SharedRegion {
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw new RangeError(`Expected a region size that is an integer >= 0, got ${String(byteLength)}`);
    }
    return new SharedRegion(new SharedArrayBuffer(byteLength));
  }

  /**
   * Like `create`, for big or short-lived regions (queue and pipe rings): the memory
   * comes from mmap and goes back to the OS when the last worker drops it, and the
   * region can own native stash tickets (see util/native.ts).
   */
  static allocate(byteLength: number): SharedRegion {
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw new RangeError(`Expected a region size that is an integer >= 0, got ${String(byteLength)}`);
    }
    return new SharedRegion(native().allocate(byteLength));
  }

  /** Opens the region another worker described with `handle()`. */
  static open(handle: RegionHandle): SharedRegion {
    if (handle?.kind !== "sab" || !(handle.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("Expected a shared-memory region handle from SharedRegion.handle()");
    }
    return new SharedRegion(handle.buffer);
  }

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  handle(): RegionHandle {
    return { kind: "sab", buffer: this.buffer };
  }

  int32(byteOffset = 0, length = (this.buffer.byteLength - byteOffset) >> 2): Int32Array {
    return new Int32Array(this.buffer, byteOffset, length);
  }

  bytes(byteOffset = 0, length = this.buffer.byteLength - byteOffset): Uint8Array {
    return new Uint8Array(this.buffer, byteOffset, length);
  }
}
