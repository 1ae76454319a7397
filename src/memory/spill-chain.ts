/**
 * The spill chain of a MessageRing: a linked list of overflow segments that takes
 * frames while the ring's data area is full (ring.ts says when frames go here and
 * how FIFO order is kept). This file owns the segments: linking a new tail,
 * opening segments another thread linked, and releasing drained ones.
 *
 * A segment is a buffer of the ring's BufferStore (buffer-store.ts), named by its
 * ticket, so any thread (or, for a ring in OS memory, any process) can open it
 * (SEGMENT_BYTES, or one frame's size if bigger). In the thread store the ring's
 * buffer owns the tickets: the segments of a ring dropped unread are freed with it.
 *
 *   byte  0  f64  next         ticket of the next segment (0: none yet)
 *   byte  8  u32  writeOffset  end of the frames written so far
 *   byte 12  u32  readOffset   the oldest frame not yet read
 *   byte 16 ...   frames (frame.ts)
 *
 * The ring's header holds the tickets of the head (oldest) and tail segments
 * (both 0 while the chain is empty) and of one drained segment kept for reuse. Callers hold the ring's locks as each
 * method says.
 */
import type { BufferStore } from "./buffer-store.ts";
import { copyToShared } from "./frame-copy.ts";
import { FRAME_HEADER, writeFrameHeader } from "./frame.ts";

const SEGMENT_HEADER = 16;
const SEGMENT_BYTES = 1024 * 1024;

/** Int32 indexes of a segment's offsets. */
const WRITE_OFFSET = 2;
const READ_OFFSET = 3;

/** Indexes of the chain's tickets in the Float64Array the ring gives. */
const HEAD = 0;
const TAIL = 1;
/**
 * A drained segment kept for the next one the chain needs (0: none). A producer
 * that outruns its consumer would otherwise make and drop a segment per MiB: in
 * OS shared memory that is shm_open, ftruncate, mmap, page faults and unlink, in
 * another process than the one that frees it.
 */
const FREE = 2;

/** A segment as this thread sees it. */
export class Segment {
  readonly ticket: number;
  readonly bytes: Buffer;
  readonly view: DataView;
  readonly #words: Int32Array;
  readonly #next: Float64Array;

  constructor(ticket: number, buffer: SharedArrayBuffer) {
    this.ticket = ticket;
    this.#words = new Int32Array(buffer, 0, 4);
    this.#next = new Float64Array(buffer, 0, 1);
    this.bytes = Buffer.from(buffer);
    this.view = new DataView(buffer);
  }

  get writeOffset(): number {
    return Atomics.load(this.#words, WRITE_OFFSET);
  }

  set writeOffset(offset: number) {
    Atomics.store(this.#words, WRITE_OFFSET, offset);
  }

  get readOffset(): number {
    return Atomics.load(this.#words, READ_OFFSET);
  }

  set readOffset(offset: number) {
    Atomics.store(this.#words, READ_OFFSET, offset);
  }

  get next(): number {
    return this.#next[0]!;
  }

  set next(ticket: number) {
    this.#next[0] = ticket;
  }

  /** Writes a frame at `offset` (not yet visible to readers: that is `writeOffset`'s job). */
  writeFrame(offset: number, kind: number, payload: Uint8Array, length: number): void {
    writeFrameHeader(this.view, offset, length, kind);
    copyToShared(this.bytes, offset + FRAME_HEADER, payload, length);
  }
}


export class SpillChain {
  readonly #tickets: Float64Array;
  readonly #owner: SharedArrayBuffer;
  readonly #store: BufferStore;
  /** The tail (producer side) and head (consumer side) as this thread last opened them. */
  #tail: Segment | undefined;
  #head: Segment | undefined;

  /**
   * `tickets`: the three f64 words of the ring's header that hold the head, tail and kept tickets;
   * `owner`: the ring's buffer (from native `allocate`), which owns the segments' tickets.
   */
  constructor(tickets: Float64Array, owner: SharedArrayBuffer, store: BufferStore) {
    this.#tickets = tickets;
    this.#owner = owner;
    this.#store = store;
  }

  #open(ticket: number): Segment {
    return new Segment(ticket, this.#store.peek(ticket));
  }

  /** The tail segment, with a new one linked in when it lacks `frame` bytes; caller holds pLock and cLock. */
  tailWithRoom(frame: number): Segment {
    const tailTicket = this.#tickets[TAIL]!;
    let segment = this.#tail;
    if (tailTicket !== 0 && segment?.ticket !== tailTicket) {
      segment = this.#tail = this.#open(tailTicket);
    }
    if (tailTicket !== 0 && segment && segment.writeOffset + frame <= segment.bytes.length) return segment;
    const bytes = Math.max(SEGMENT_BYTES, SEGMENT_HEADER + frame);
    const kept = bytes === SEGMENT_BYTES ? this.#tickets[FREE]! : 0;
    let ticket: number;
    let buffer: SharedArrayBuffer;
    if (kept !== 0) {
      this.#tickets[FREE] = 0;
      ticket = kept;
      buffer = this.#store.peek(kept);
    } else {
      ({ ticket, buffer } = this.#store.create(bytes, this.#owner));
    }
    const fresh = new Segment(ticket, buffer);
    fresh.next = 0;
    fresh.writeOffset = SEGMENT_HEADER;
    fresh.readOffset = SEGMENT_HEADER;
    if (tailTicket === 0 || !segment) this.#tickets[HEAD] = ticket;
    else segment.next = ticket;
    this.#tickets[TAIL] = ticket;
    return (this.#tail = fresh);
  }

  /** A drained segment: kept for the next one if the store wants that, it has the standard size and none is kept yet; caller holds cLock. */
  #release(segment: Segment): void {
    if (this.#store.keepsDrained && segment.bytes.length === SEGMENT_BYTES && this.#tickets[FREE] === 0) this.#tickets[FREE] = segment.ticket;
    else this.#store.recycle(segment.ticket);
  }

  /**
   * The segment holding the oldest spilled frame (at its readOffset). Segments
   * left behind exhausted (a producer moved on to the next one) are released on
   * the way. Caller holds cLock and knows a frame is spilled.
   */
  head(): Segment {
    let segment = this.#head;
    const headTicket = this.#tickets[HEAD]!;
    if (segment?.ticket !== headTicket) segment = this.#head = this.#open(headTicket);
    while (segment.readOffset >= segment.writeOffset) {
      const next: number = segment.next;
      this.#release(segment);
      this.#tickets[HEAD] = next;
      segment = this.#head = this.#open(next);
    }
    return segment;
  }

  /** Releases the chain, whose last frame was just read from `head`; caller holds cLock and knows no producer is writing to it. */
  drop(head: Segment): void {
    this.#release(head);
    this.#tickets[HEAD] = 0;
    this.#tickets[TAIL] = 0;
    this.#head = undefined;
  }
}
