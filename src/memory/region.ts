/**
 * SharedRegion: a block of memory shared by every worker that holds its handle.
 *
 * Every primitive (locks, queues, values) keeps its state in a region and talks to
 * it only through typed views, so the process context can swap SharedArrayBuffer
 * for OS shared memory here and leave the primitives untouched.
 *
 * The handle is what crosses a worker boundary: in the thread context it is the
 * SharedArrayBuffer itself (structured clone shares it; the byte serializer stashes
 * it through the native addon). In the process context (`{ shared: "os" }`) the
 * memory is a POSIX shared-memory object and the handle is its name and size
 * (plain data, so it crosses a process boundary); see shm.ts.
 */
import { currentMemoryKind } from "./kind.ts";
import { createShm, openShm } from "./shm.ts";

import { native } from "../util/native.ts";

export type RegionHandle = { kind: "sab"; buffer: SharedArrayBuffer } | { kind: "shm"; name: string; size: number };

export interface RegionOptions {
  /**
   * "thread": a SharedArrayBuffer for this process's threads; "os": OS shared memory
   * other processes can map. @default the current memory kind (memory/kind.ts)
   */
  shared?: "thread" | "os";
}

export class SharedRegion {
  readonly buffer: SharedArrayBuffer;
  /** The OS shared-memory name, or undefined for a thread-shared region. */
  readonly #shmName: string | undefined;

  private constructor(buffer: SharedArrayBuffer, shmName?: string) {
    this.buffer = buffer;
    this.#shmName = shmName;
  }

  /** Allocates a zero-filled region of `byteLength` bytes. */
  static create(byteLength: number, options?: RegionOptions): SharedRegion {
    if (!Number.isInteger(byteLength) || byteLength < 0) {
      throw new RangeError(`Expected a region size that is an integer >= 0, got ${String(byteLength)}`);
    }
    const shared = options?.shared ?? currentMemoryKind();
    if (shared === "os") {
      const { name, buffer } = createShm(byteLength);
      return new SharedRegion(buffer, name);
    }
    if (shared !== "thread") {
      throw new TypeError(`Expected \`shared\` to be "thread" or "os", got \`${String(shared)}\` (${typeof shared})`);
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
    // OS shared memory is mmap'ed and goes back to the OS with its last mapping already.
    if (currentMemoryKind() === "os") return SharedRegion.create(byteLength, { shared: "os" });
    return new SharedRegion(native().allocate(byteLength));
  }

  /** Opens the region another worker described with `handle()`. */
  static open(handle: RegionHandle): SharedRegion {
    if (handle?.kind === "shm" && typeof handle.name === "string" && Number.isInteger(handle.size)) {
      const buffer = openShm(handle.name);
      if (buffer.byteLength < handle.size) {
        throw new RangeError(
          `Shared-memory object ${handle.name} has ${buffer.byteLength} bytes, but its handle says ${handle.size}`,
        );
      }
      return new SharedRegion(buffer, handle.name);
    }
    if (handle?.kind !== "sab" || !(handle.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError("Expected a shared-memory region handle from SharedRegion.handle()");
    }
    return new SharedRegion(handle.buffer);
  }

  /** "os" for OS shared memory (other processes can open it), "thread" for a SharedArrayBuffer of this process. */
  get shared(): "thread" | "os" {
    return this.#shmName === undefined ? "thread" : "os";
  }

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  handle(): RegionHandle {
    if (this.#shmName !== undefined) return { kind: "shm", name: this.#shmName, size: this.buffer.byteLength };
    return { kind: "sab", buffer: this.buffer };
  }

  int32(byteOffset = 0, length = (this.buffer.byteLength - byteOffset) >> 2): Int32Array {
    return new Int32Array(this.buffer, byteOffset, length);
  }

  bytes(byteOffset = 0, length = this.buffer.byteLength - byteOffset): Uint8Array {
    return new Uint8Array(this.buffer, byteOffset, length);
  }
}
