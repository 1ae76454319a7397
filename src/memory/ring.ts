/**
 * MessageRing: a multi-producer, multi-consumer message channel in shared memory,
 * the transport under Queue, JoinableQueue, SimpleQueue and Pipe.
 *
 * The ring's memory comes from the native `allocate` (mmap: returned to the OS when
 * the last worker drops the ring) and OWNS the stash tickets written into it: big
 * frames' buffers, spill segments, and the shared buffers inside messages encoded
 * for it (see `owner`). When a ring is dropped with frames unread, the native side
 * drops those tickets with it, as Python's queue items die with the queue.
 *
 * Messages are byte frames in a ring. Producers serialize on a producer mutex and
 * consumers on a consumer mutex (a two-lock queue), so a producer and a consumer
 * never contend. A message never needs ring space it cannot get:
 *
 * - a frame larger than a quarter of the ring goes INDIRECT: its bytes go to a
 *   SharedArrayBuffer of their own, kept alive by the native stash, and the ring
 *   carries only the ticket (16 bytes). Message size is not limited by ring size,
 *   and the consumer decodes straight from that buffer (one copy in total);
 * - when the ring is full, frames SPILL into a chain of stashed overflow segments
 *   (1 MiB or more each). Once anything is in the spill, every later frame goes
 *   there too until consumers drain it (consumers read the ring first), so FIFO
 *   order holds. Hence `write` never blocks on bytes: an unbounded queue never
 *   deadlocks with a consumer that is itself waiting (for a join, an event...),
 *   and a bounded queue blocks only on its item count (`limit`).
 *
 * Nothing here polls or uses timers: waiting is waitCore on a sequence word, and
 * a signal (atomic bump plus notify) is sent only when a waiter count says someone
 * may sleep, so the uncontended path makes no wake-up calls at all.
 *
 * Control words (Int32, hot words on separate 64-byte lines to avoid false sharing):
 *
 *   byte   0  word  0  pLock          producer mutex: 0 free, 1 held, 2 held with sleepers
 *   byte   4  word  1  tail           write position (bytes, wraps at 2^32)
 *   byte   8  word  2  spillItems     frames in the spill chain (raised only under pLock)
 *   byte  12  word  3  spillPending   1 while a producer copies a big frame into the spill tail
 *                                     without cLock (the chain must not be dropped meanwhile)
 *   byte  16  word  4  pOwner         thread id of the pLock holder (0: none, or the main thread)
 *   byte  64  word 16  cLock          consumer mutex
 *   byte  68  word 17  head           read position
 *   byte  80  word 20  cOwner         thread id of the cLock holder (0: none, or the main thread)
 *   byte 128  word 32  items          frames published and not yet taken (ring + spill)
 *   byte 132  word 33  dataSeq        bumped on publish/close when readers wait
 *   byte 136  word 34  readersWaiting
 *   byte 140  word 35  spaceSeq       bumped on take when writers wait
 *   byte 144  word 36  writersWaiting
 *   byte 148  word 37  writerClosed   set by the pipe end that writes here (EOF once drained)
 *   byte 152  word 38  readerClosed   set by the pipe end that reads here (EPIPE for writers)
 *   byte 160  word 40  doorbell       1 while a reader woken by a message of its own has been sent one
 *                                     it has not answered (see claimDoorbell; the pool's result rings)
 *   byte 164  word 41  startGate      seq of the next task not yet started or taken back (see claimTask;
 *                                     the pool's task rings)
 *   byte 168  word 42  messagesComing messages posted to the reader beside the ring and not yet received
 *                                     (see messageComing and lingerSync; the pool's task rings)
 *   byte 192  f64  24  spillHead      ticket of the oldest spill segment (0: none)
 *   byte 200  f64  25  spillTail      ticket of the newest spill segment
 *   byte 208  f64  26  spillFree      ticket of a drained segment kept for reuse (0: none)
 *   byte 256 ...       data           `capacity` bytes (a power of two)
 *
 * Frames: see frame.ts. Spill segments: see spill-chain.ts.
 */
import { isMainThread } from "../util/lean-builtins.ts";
import { LIVENESS_CHECK_MS, isDeadProcess, isOtherProcess, ownerId } from "./owner-id.ts";
import { osBuffers, threadBuffers, type BufferStore } from "./buffer-store.ts";
import { deathList } from "../util/thread-death.ts";
import { COPY_OUT_BYTES, copyToShared, decodeDetached, detachFrame, type Detached } from "./frame-copy.ts";
import { FRAME_HEADER, INDIRECT_BYTES, KIND_INDIRECT, KIND_WRAP, frameSize, writeFrameHeader, type FrameDecoder } from "./frame.ts";
import { SharedRegion, type RegionHandle } from "./region.ts";
import { SpillChain, type Segment } from "./spill-chain.ts";
import { remaining, waitCore } from "./wait.ts";

export { KIND_USER, type FrameDecoder } from "./frame.ts";

const P_LOCK = 0;
const TAIL = 1;
const SPILL_ITEMS = 2;
const SPILL_PENDING = 3;
const C_LOCK = 16;
const HEAD = 17;
const ITEMS = 32;
const DATA_SEQ = 33;
const READERS_WAITING = 34;
const SPACE_SEQ = 35;
const WRITERS_WAITING = 36;
const WRITER_CLOSED = 37;
const READER_CLOSED = 38;
const DOORBELL = 40;
const START_GATE = 41;
const MESSAGES_COMING = 42;
/** Byte offset of spillHead, spillTail and spillFree (three f64 words). */
const SPILL_TICKETS = 192;
const HEADER_BYTES = 256;

/** Payloads up to this size are copied into the ring byte by byte (a short loop makes no call); bigger ones by copyToShared. */
const LOOP_COPY_BYTES = 64;

const SPIN = 64;

/** Returned by reads that found nothing. */
export const NOTHING: unique symbol = Symbol("multiproc.ring.nothing");
/** Returned by reads when the writer end is closed and everything was read. */
export const CLOSED: unique symbol = Symbol("multiproc.ring.closed");

export interface RingState {
  region: RegionHandle;
  capacity: number;
}

/** A lock's owner word sits this many words after the lock word (pOwner, cOwner). */
const OWNER = 4;
/**
 * This thread's owner id, as the primitives' locks have it (synchronize/owners.ts):
 * the pid in a process's main thread, a tagged thread id in a worker thread. The
 * main thread of the program's root never needs recovering (its death ends everything).
 */
const SELF = ownerId();

function lock(word: Int32Array, index: number): void {
  if (Atomics.compareExchange(word, index, 0, 1) !== 0) lockSlow(word, index);
  Atomics.store(word, index + OWNER, SELF);
}

function lockSlow(word: Int32Array, index: number): void {
  for (let spin = 0; spin < SPIN; spin++) {
    if (Atomics.load(word, index) === 0 && Atomics.compareExchange(word, index, 0, 1) === 0) return;
  }
  // Drepper's mutex: 2 means "held, and someone may sleep"; the unlocker then wakes one.
  let state = Atomics.exchange(word, index, 2);
  while (state !== 0) {
    const holder = Atomics.load(word, index + OWNER);
    if (!isOtherProcess(holder)) {
      waitCore.waitSync(word, index, 2);
    } else {
      // Held by another OS process, whose death nobody reports here: look at it now and then.
      waitCore.waitSync(word, index, 2, LIVENESS_CHECK_MS);
      if (isDeadProcess(holder)) releaseDeadHolder(word, index, holder);
    }
    state = Atomics.exchange(word, index, 2);
  }
}

/** Frees a ring lock whose holder died (a killed thread or process), if its owner word still names it, and wakes its sleepers. */
function releaseDeadHolder(ctl: Int32Array, index: number, dead: number): void {
  if (Atomics.compareExchange(ctl, index + OWNER, dead, 0) !== dead) return;
  if (index === P_LOCK) Atomics.store(ctl, SPILL_PENDING, 0);
  Atomics.store(ctl, index, 0);
  waitCore.notify(ctl, index);
}

function unlock(word: Int32Array, index: number): void {
  Atomics.store(word, index + OWNER, 0);
  if (Atomics.sub(word, index, 1) !== 1) {
    Atomics.store(word, index, 0);
    waitCore.notify(word, index, 1);
  }
}

/**
 * A worker thread killed (terminate/kill) while it holds a ring's pLock or cLock
 * never runs its `finally`; the queue or pipe would stay locked for everyone. Each
 * worker thread lists the rings it opens (src/util/thread-death.ts), and the thread
 * that sees it die frees the locks whose owner word still names it and wakes their
 * sleepers. What the dead thread was doing under the lock is lost with it: at most
 * the one message it was writing or taking.
 */
const ringLocks = deathList("ring-locks", ([ring, owner]) => {
  const ctl = new Int32Array(ring!, 0, HEADER_BYTES >> 2);
  const dead = new Int32Array(owner!)[0]!;
  for (const index of [P_LOCK, C_LOCK]) releaseDeadHolder(ctl, index, dead);
});
/** This thread's id, in the buffer each listing carries so the releaser knows whom to look for. */
let selfBuffer: SharedArrayBuffer | undefined;
const untrackRing = new FinalizationRegistry<number>((slot) => ringLocks.untrack(slot));

function listRing(ring: MessageRing, buffer: SharedArrayBuffer): void {
  if (isMainThread) return; // a process's main thread dies with its process, which other processes see by liveness
  if (!selfBuffer) {
    selfBuffer = new SharedArrayBuffer(4);
    new Int32Array(selfBuffer)[0] = SELF;
  }
  untrackRing.register(ring, ringLocks.track([buffer, selfBuffer]));
}

export class MessageRing {
  readonly #region: SharedRegion;
  readonly #capacity: number;
  readonly #ctl: Int32Array;
  readonly #bytes: Buffer;
  readonly #view: DataView;
  readonly #maxInline: number;
  readonly #spill: SpillChain;
  /** Where big frames and spill segments go: this process's stash, or OS shared memory. */
  readonly #store: BufferStore;
  /** A frame copied out under the consumer lock, to be decoded once it is released. */
  #detached: Detached | undefined;

  private constructor(region: SharedRegion, capacity: number) {
    this.#region = region;
    this.#capacity = capacity;
    this.#ctl = region.int32(0, HEADER_BYTES >> 2);
    this.#bytes = Buffer.from(region.buffer, HEADER_BYTES, capacity);
    this.#view = new DataView(region.buffer, HEADER_BYTES, capacity);
    this.#maxInline = capacity >> 2;
    this.#store = region.shared === "os" ? osBuffers : threadBuffers;
    this.#spill = new SpillChain(new Float64Array(region.buffer, SPILL_TICKETS, 3), region.buffer, this.#store);
    listRing(this, region.buffer);
  }

  /** A ring with `capacity` data bytes (rounded up to a power of two, at least 4 KiB). */
  static create(capacity = 1 << 20): MessageRing {
    let size = 4096;
    while (size < capacity) size *= 2;
    return new MessageRing(SharedRegion.allocate(HEADER_BYTES + size), size);
  }

  static open(state: RingState): MessageRing {
    return new MessageRing(SharedRegion.open(state.region), state.capacity);
  }

  get state(): RingState {
    return { region: this.#region.handle(), capacity: this.#capacity };
  }

  /**
   * The buffer that owns stash tickets written into this ring: pass it to
   * `native().stash(buffer, owner)` (or `encodeMessage(value, owner)`) for the
   * shared buffers of a message about to be written here.
   */
  get owner(): SharedArrayBuffer | null {
    // null: a ring in OS shared memory, which other processes read; it can carry no buffer of this process.
    return this.#region.shared === "os" ? null : this.#region.buffer;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Frames published and not yet taken. */
  get size(): number {
    return Atomics.load(this.#ctl, ITEMS);
  }

  get writerClosed(): boolean {
    return Atomics.load(this.#ctl, WRITER_CLOSED) !== 0;
  }

  get readerClosed(): boolean {
    return Atomics.load(this.#ctl, READER_CLOSED) !== 0;
  }

  /** Marks the writer end closed: readers get CLOSED once the ring is drained. */
  closeWriter(): void {
    Atomics.store(this.#ctl, WRITER_CLOSED, 1);
    this.#signalAll(DATA_SEQ, READERS_WAITING);
  }

  /** Marks the reader end closed: writers learn it through `readerClosed`. */
  closeReader(): void {
    Atomics.store(this.#ctl, READER_CLOSED, 1);
    this.#signalAll(SPACE_SEQ, WRITERS_WAITING);
  }

  /**
   * For a ring whose one reader is woken by a message sent beside it rather than by
   * the ring's own wait (a pool's result ring: its reader is the parent's event loop).
   * A writer calls this after writing: true means the reader may not look again by
   * itself, so send it the message; false means a message is already on its way.
   */
  claimDoorbell(): boolean {
    return Atomics.exchange(this.#ctl, DOORBELL, 1) === 0;
  }

  /** The reader, on that message, before it reads: frames written from now on ring again. */
  answerDoorbell(): void {
    Atomics.store(this.#ctl, DOORBELL, 0);
  }

  /**
   * For a ring of numbered tasks (a pool worker's, numbered from 0) that its reader
   * starts in order and its writer may take back before they start. Both sides call
   * this for task `seq` when it is next: the reader before it starts it, the writer to
   * take it back for another reader; exactly one of them gets true. The reader skips a
   * task it gets false for. The reader may have read the task already: taking back does
   * not touch the frames, so it works while the reader runs a long task and reads no
   * messages.
   */
  claimTask(seq: number): boolean {
    return Atomics.compareExchange(this.#ctl, START_GATE, seq | 0, (seq + 1) | 0) === (seq | 0);
  }

  /**
   * For a ring whose reader is also sent messages beside it (a pool worker's task ring: a
   * task with a transfer list is posted). The writer calls this just before it posts one,
   * and it ends a lingerSync at once: the reader must go back to its event loop to get it.
   */
  messageComing(): void {
    const ctl = this.#ctl;
    Atomics.add(ctl, MESSAGES_COMING, 1);
    if (Atomics.load(ctl, READERS_WAITING) !== 0) this.#signal(DATA_SEQ, 1);
  }

  /** The reader, on each message announced by messageComing (or the writer, if its post failed). */
  messageArrived(): void {
    Atomics.sub(this.#ctl, MESSAGES_COMING, 1);
  }

  /**
   * One wait of up to `timeout` ms for a frame, which ends early when the writer announces
   * a message (messageComing) or is already on its way; true if a frame is there to read.
   */
  lingerSync(timeout: number): boolean {
    const ctl = this.#ctl;
    Atomics.add(ctl, READERS_WAITING, 1);
    // The sequence word is read before the count: a message announced after this read changes it.
    const seq = Atomics.load(ctl, DATA_SEQ);
    if (!this.#readable() && Atomics.load(ctl, MESSAGES_COMING) === 0) waitCore.waitSync(ctl, DATA_SEQ, seq, timeout);
    Atomics.sub(ctl, READERS_WAITING, 1);
    return Atomics.load(ctl, ITEMS) !== 0;
  }

  /** The seq of the next task neither started nor taken back (see claimTask). */
  get nextTask(): number {
    return Atomics.load(this.#ctl, START_GATE);
  }

  // ---------------------------------------------------------------- producer side

  /**
   * Publishes `payload[0, length)` as one frame of `kind`, unless `limit` > 0 and
   * `limit` frames are already waiting (then returns false). Never waits for bytes.
   * `wake` false leaves a waiting reader asleep: the caller calls wakeReader later.
   */
  tryWrite(kind: number, payload: Uint8Array, length: number, limit = 0, wake = true): boolean {
    const ctl = this.#ctl;
    lock(ctl, P_LOCK);
    try {
      if (limit > 0 && Atomics.load(ctl, ITEMS) >= limit) return false;
      if (FRAME_HEADER + length > this.#maxInline) {
        this.#writeIndirect(kind, payload, length);
      } else {
        this.#writeFrame(kind, payload, length);
      }
      Atomics.add(ctl, ITEMS, 1);
    } finally {
      unlock(ctl, P_LOCK);
    }
    if (wake) this.wakeReader();
    return true;
  }

  /** Wakes a reader waiting for frames, if one may be; for writes made with `wake` false. */
  wakeReader(): void {
    if (Atomics.load(this.#ctl, READERS_WAITING) !== 0) this.#signal(DATA_SEQ, 1);
  }

  /** Writes a frame into the ring, or into the spill when the ring is full or already holds frames (FIFO); caller holds pLock. */
  #writeFrame(kind: number, payload: Uint8Array, length: number): void {
    if (Atomics.load(this.#ctl, SPILL_ITEMS) !== 0 || !this.#writeRing(kind, payload, length)) {
      this.#writeSpill(kind, payload, length);
    }
  }

  /** Writes a frame into the ring if it fits; caller holds pLock. */
  #writeRing(kind: number, payload: Uint8Array, length: number): boolean {
    const ctl = this.#ctl;
    const capacity = this.#capacity;
    const frame = frameSize(length);
    const tail = Atomics.load(ctl, TAIL) >>> 0;
    const used = (tail - (Atomics.load(ctl, HEAD) >>> 0)) >>> 0;
    let offset = tail & (capacity - 1);
    const toEnd = capacity - offset;
    const needed = frame <= toEnd ? frame : toEnd + frame;
    if (used + needed > capacity) return false;
    let next = tail;
    const view = this.#view;
    if (frame > toEnd) {
      view.setUint32(offset + 4, KIND_WRAP, true);
      next = (next + toEnd) >>> 0;
      offset = 0;
    }
    writeFrameHeader(view, offset, length, kind);
    if (length > 0) {
      if (length <= LOOP_COPY_BYTES) {
        const bytes = this.#bytes;
        const base = offset + FRAME_HEADER;
        for (let i = 0; i < length; i++) bytes[base + i] = payload[i]!;
      } else {
        copyToShared(this.#bytes, offset + FRAME_HEADER, payload, length);
      }
    }
    Atomics.store(ctl, TAIL, (next + frame) | 0);
    return true;
  }

  /** Moves a big payload to its own stashed buffer and publishes its ticket. */
  #writeIndirect(kind: number, payload: Uint8Array, length: number): void {
    const { ticket, buffer } = this.#store.create(length, this.#region.buffer);
    copyToShared(new Uint8Array(buffer), 0, payload, length);
    const frame = Buffer.allocUnsafe(INDIRECT_BYTES);
    frame.writeDoubleLE(ticket, 0);
    frame.writeUInt32LE(length, 8);
    frame.writeUInt32LE(kind, 12);
    this.#writeFrame(KIND_INDIRECT, frame, INDIRECT_BYTES);
  }

  /**
   * Appends a frame to the spill chain; caller holds pLock, this takes cLock (order: p then c).
   * A big frame is copied with cLock released (consumers go on reading meanwhile; a copy into
   * fresh segment memory page-faults, about 30 µs per 64 KiB): its space is reserved under
   * cLock with SPILL_PENDING set, which stops a consumer that drains the spill from dropping
   * the chain under the copy, then published under cLock again.
   */
  #writeSpill(kind: number, payload: Uint8Array, length: number): void {
    const ctl = this.#ctl;
    const frame = frameSize(length);
    const copyUnlocked = length >= COPY_OUT_BYTES;
    let segment: Segment;
    let offset: number;
    lock(ctl, C_LOCK);
    try {
      segment = this.#spill.tailWithRoom(frame);
      offset = segment.writeOffset;
      if (copyUnlocked) {
        Atomics.store(ctl, SPILL_PENDING, 1);
      } else {
        segment.writeFrame(offset, kind, payload, length);
        segment.writeOffset = offset + frame;
        Atomics.add(ctl, SPILL_ITEMS, 1);
        return;
      }
    } finally {
      unlock(ctl, C_LOCK);
    }
    try {
      segment.writeFrame(offset, kind, payload, length);
    } finally {
      lock(ctl, C_LOCK);
      // Published even if the copy threw (it cannot for in-bounds ranges), so the chain stays consistent.
      segment.writeOffset = offset + frame;
      Atomics.add(ctl, SPILL_ITEMS, 1);
      Atomics.store(ctl, SPILL_PENDING, 0);
      unlock(ctl, C_LOCK);
    }
  }

  // ---------------------------------------------------------------- consumer side

  /** Takes the oldest frame and returns `decode(...)` of it, or NOTHING (CLOSED once a closed writer's frames are drained). */
  tryRead<R>(decode: FrameDecoder<R>): R | typeof NOTHING | typeof CLOSED {
    const ctl = this.#ctl;
    if (Atomics.load(ctl, ITEMS) === 0) return this.writerClosed && Atomics.load(ctl, ITEMS) === 0 ? CLOSED : NOTHING;
    lock(ctl, C_LOCK);
    let result: R | Detached;
    try {
      if (Atomics.load(ctl, ITEMS) === 0) return NOTHING;
      const head = Atomics.load(ctl, HEAD) >>> 0;
      if (head !== Atomics.load(ctl, TAIL) >>> 0) {
        result = this.#readRing(head, decode);
      } else {
        result = this.#readSpill(decode);
      }
    } finally {
      unlock(ctl, C_LOCK);
    }
    if (Atomics.load(ctl, WRITERS_WAITING) !== 0) this.#signal(SPACE_SEQ, 1);
    if (this.#detached === undefined) return result as R;
    try {
      return decodeDetached(this.#takeDetached(), decode);
    } finally {
      // Keeps the ring reachable until the decode has taken the message's tickets, which
      // the ring owns: were it collected meanwhile, its tickets would be dropped.
      Atomics.load(ctl, ITEMS);
    }
  }

  /** Takes a frame's payload: decodes it in place, or copies a big one out (see COPY_OUT_BYTES) to decode after unlocking. */
  #decodeOrDetach<R>(kind: number, bytes: Buffer, view: DataView, offset: number, length: number, decode: FrameDecoder<R>): R | Detached {
    if (length < COPY_OUT_BYTES) return decode(kind, bytes, view, offset, length);
    return (this.#detached = detachFrame(kind, bytes, offset, length));
  }

  #takeDetached(): Detached {
    const frame = this.#detached!;
    this.#detached = undefined;
    return frame;
  }

  /** Decodes the frame at `offset` (of the ring or a segment), following an INDIRECT frame to its own buffer. */
  #readFrame<R>(bytes: Buffer, view: DataView, offset: number, length: number, decode: FrameDecoder<R>): R | Detached {
    const kind = view.getUint32(offset + 4, true);
    return kind === KIND_INDIRECT
      ? this.#readIndirect(view, offset + FRAME_HEADER, decode)
      : this.#decodeOrDetach(kind, bytes, view, offset + FRAME_HEADER, length, decode);
  }

  #readRing<R>(head: number, decode: FrameDecoder<R>): R | Detached {
    const ctl = this.#ctl;
    const capacity = this.#capacity;
    const view = this.#view;
    let offset = head & (capacity - 1);
    if (view.getUint32(offset + 4, true) === KIND_WRAP) {
      head = (head + capacity - offset) >>> 0;
      offset = 0;
    }
    const length = view.getUint32(offset, true);
    try {
      return this.#readFrame(this.#bytes, view, offset, length, decode);
    } finally {
      // The frame is consumed even if decoding threw (the error goes to this caller).
      Atomics.store(ctl, HEAD, (head + frameSize(length)) | 0);
      Atomics.sub(ctl, ITEMS, 1);
    }
  }

  #readIndirect<R>(view: DataView, offset: number, decode: FrameDecoder<R>): R | Detached {
    const ticket = view.getFloat64(offset, true);
    const length = view.getUint32(offset + 8, true);
    const kind = view.getUint32(offset + 12, true);
    const buffer = this.#store.take(ticket);
    return this.#decodeOrDetach(kind, Buffer.from(buffer, 0, length), new DataView(buffer, 0, length), 0, length, decode);
  }

  /** Takes the oldest spilled frame; caller holds cLock and knows the ring is empty and items > 0. */
  #readSpill<R>(decode: FrameDecoder<R>): R | Detached {
    const ctl = this.#ctl;
    const segment = this.#spill.head();
    const readOffset = segment.readOffset;
    const length = segment.view.getUint32(readOffset, true);
    try {
      return this.#readFrame(segment.bytes, segment.view, readOffset, length, decode);
    } finally {
      segment.readOffset = readOffset + frameSize(length);
      Atomics.sub(ctl, ITEMS, 1);
      if (Atomics.sub(ctl, SPILL_ITEMS, 1) === 1 && Atomics.load(ctl, SPILL_PENDING) === 0) {
        // Spill drained (producers append only under cLock, which we hold, and none is
        // copying into the tail: SPILL_PENDING): drop the chain.
        this.#spill.drop(segment);
      }
    }
  }

  // ---------------------------------------------------------------- waiting
  //
  // A waiter registers in its waiting count, reads the sequence word, then checks
  // its condition again before sleeping: a signaller bumps the sequence word only
  // when it sees a registered waiter, so a change made before the registration is
  // caught by that check, and one made after it changes the word and ends the sleep.

  /** Blocks until a frame is taken (decoded), the writer is closed and drained (CLOSED), or the deadline passes (NOTHING). */
  readSync<R>(decode: FrameDecoder<R>, deadline: number | undefined): R | typeof NOTHING | typeof CLOSED {
    for (;;) {
      const result = this.tryRead(decode);
      if (result !== NOTHING) return result;
      const left = remaining(deadline);
      if (left === 0) return NOTHING;
      this.#sleepUntilReadableSync(left);
    }
  }

  async readAsync<R>(decode: FrameDecoder<R>, deadline: number | undefined): Promise<R | typeof NOTHING | typeof CLOSED> {
    for (;;) {
      const result = this.tryRead(decode);
      if (result !== NOTHING) return result;
      const left = remaining(deadline);
      if (left === 0) return NOTHING;
      const sleeping = this.#sleepUntilReadable(left);
      if (sleeping) await sleeping;
    }
  }

  /** Waits until a frame is available or the writer is closed; false on timeout. Takes nothing. */
  async waitReadable(deadline: number | undefined): Promise<boolean> {
    for (;;) {
      if (this.#readable()) return true;
      const left = remaining(deadline);
      if (left === 0) return false;
      const sleeping = this.#sleepUntilReadable(left);
      if (sleeping) await sleeping;
    }
  }

  /** Blocking twin of waitReadable. */
  waitReadableSync(deadline: number | undefined): boolean {
    for (;;) {
      if (this.#readable()) return true;
      const left = remaining(deadline);
      if (left === 0) return false;
      this.#sleepUntilReadableSync(left);
    }
  }

  /** Blocks until the frame is written under `limit`; false on timeout. */
  writeSync(kind: number, payload: Uint8Array, length: number, limit: number, deadline: number | undefined): boolean {
    for (;;) {
      if (this.tryWrite(kind, payload, length, limit)) return true;
      const left = remaining(deadline);
      if (left === 0) return false;
      const ctl = this.#ctl;
      Atomics.add(ctl, WRITERS_WAITING, 1);
      const seq = Atomics.load(ctl, SPACE_SEQ);
      if (Atomics.load(ctl, ITEMS) >= limit) waitCore.waitSync(ctl, SPACE_SEQ, seq, left);
      Atomics.sub(ctl, WRITERS_WAITING, 1);
    }
  }

  /** Waits until the frame is written under `limit`; false on timeout. `payload` must not change meanwhile. */
  async writeAsync(kind: number, payload: Uint8Array, length: number, limit: number, deadline: number | undefined): Promise<boolean> {
    for (;;) {
      if (this.tryWrite(kind, payload, length, limit)) return true;
      const left = remaining(deadline);
      if (left === 0) return false;
      const ctl = this.#ctl;
      Atomics.add(ctl, WRITERS_WAITING, 1);
      const seq = Atomics.load(ctl, SPACE_SEQ);
      if (Atomics.load(ctl, ITEMS) >= limit) await this.#sleep(SPACE_SEQ, seq, WRITERS_WAITING, left);
      else Atomics.sub(ctl, WRITERS_WAITING, 1);
    }
  }

  /** A frame is there to take, or the writer is closed (a read returns at once). */
  #readable(): boolean {
    return Atomics.load(this.#ctl, ITEMS) !== 0 || this.writerClosed;
  }

  /** One reader's sleep: until a frame is published, the writer closes, or `timeout` ms pass. */
  #sleepUntilReadableSync(timeout: number | undefined): void {
    const ctl = this.#ctl;
    Atomics.add(ctl, READERS_WAITING, 1);
    const seq = Atomics.load(ctl, DATA_SEQ);
    if (!this.#readable()) waitCore.waitSync(ctl, DATA_SEQ, seq, timeout);
    Atomics.sub(ctl, READERS_WAITING, 1);
  }

  /** Async twin of #sleepUntilReadableSync; undefined when there is no need to sleep. */
  #sleepUntilReadable(timeout: number | undefined): Promise<void> | undefined {
    const ctl = this.#ctl;
    Atomics.add(ctl, READERS_WAITING, 1);
    const seq = Atomics.load(ctl, DATA_SEQ);
    if (!this.#readable()) return this.#sleep(DATA_SEQ, seq, READERS_WAITING, timeout);
    Atomics.sub(ctl, READERS_WAITING, 1);
    return undefined;
  }

  /** Sleeps on `seqIndex` while it holds `seq`, then leaves the waiting count the caller joined. */
  async #sleep(seqIndex: number, seq: number, waitingIndex: number, timeout: number | undefined): Promise<void> {
    try {
      await waitCore.waitAsync(this.#ctl, seqIndex, seq, timeout);
    } finally {
      Atomics.sub(this.#ctl, waitingIndex, 1);
    }
  }

  #signal(seqIndex: number, count: number): void {
    Atomics.add(this.#ctl, seqIndex, 1);
    waitCore.notify(this.#ctl, seqIndex, count);
  }

  #signalAll(seqIndex: number, waitingIndex: number): void {
    Atomics.add(this.#ctl, seqIndex, 1);
    if (Atomics.load(this.#ctl, waitingIndex) !== 0) waitCore.notify(this.#ctl, seqIndex);
  }
}
