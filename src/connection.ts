/**
 * Pipe and Connection (Python's `multiprocessing.connection`), for workers of one
 * machine: each direction is a MessageRing in shared memory.
 *
 * An end of a pipe may have several handles (the parent keeps one after sending it
 * to a child). As with file descriptors in CPython, the end closes when its last
 * handle does: `close()`, or the handle being garbage-collected, or the thread that
 * holds it ending (on its own, or killed by terminate(): the thread that sees it die
 * releases what it held, see src/util/thread-death.ts). Only then does the peer see
 * EOF (after reading what was sent) and a sender to it get an EPIPE error.
 * Sending a handle counts one more handle for its end (the receiver adopts it), so
 * `child.close()` in the parent right after `p.start()` is safe, as in Python.
 *
 * Shared words of a pipe (Int32):
 *
 *   word 0  handles of end 0 (`a`, the first Connection of Pipe())
 *   word 1  handles of end 1 (`b`)
 *
 * Rings: rings[0] carries b -> a; rings[1] (duplex only) carries a -> b.
 * Simplex: a reads rings[0], b writes it.
 */
import { EOFError } from "./errors.ts";
import { CLOSED, MessageRing, NOTHING, type FrameDecoder, type RingState } from "./memory/ring.ts";
import { SharedRegion, type RegionHandle } from "./memory/region.ts";
import { deadlineOf } from "./memory/wait.ts";
import { kWire } from "./symbols.ts";
import { KIND_BYTES, decodeFrame, encodeOutgoing, frameBytes } from "./wire/message-codec.ts";
import { deathList as threadDeathList } from "./util/thread-death.ts";
import { registerWireType, type WireForm } from "./wire/serialize.ts";

/** Data-ring size of each direction of a pipe. */
const PIPE_RING_BYTES = 256 * 1024;

const WHAT = "a message through the pipe";

interface ConnectionState {
  handles: RegionHandle;
  rings: RingState[];
  end: 0 | 1;
  duplex: boolean;
}

// A handle's record (Int32, shared so another thread can release the handle when
// the thread holding it dies; see src/util/thread-death.ts):
//
//   word 0  open       1 until the handle is released (flipped once, by compareExchange)
//   word 1  end        0 or 1
//   word 2  duplex     1 or 0
//   word 3  capacity of rings[0]
//   word 4  capacity of rings[1] (duplex only)
const OPEN = 0;
const END = 1;
const DUPLEX = 2;
const CAPACITY = 3;
const RECORD_WORDS = 5;

/** What closing one handle needs; kept apart from the Connection so a finalizer can run it. */
interface EndRef {
  handles: Int32Array;
  end: 0 | 1;
  rings: MessageRing[];
  reader: MessageRing | undefined;
  writer: MessageRing | undefined;
  /** This thread's view of the handle: false once released here (the shared word is `record[OPEN]`). */
  open: boolean;
  record: Int32Array;
  /** Where the handle is listed for release on this thread's death (-1: not listed). */
  slot: number;
}

/** The ring an end reads and the ring it writes. */
function sides(rings: MessageRing[], end: 0 | 1, duplex: boolean): { reader: MessageRing | undefined; writer: MessageRing | undefined } {
  if (duplex) return end === 0 ? { reader: rings[0], writer: rings[1] } : { reader: rings[1], writer: rings[0] };
  return end === 0 ? { reader: rings[0], writer: undefined } : { reader: undefined, writer: rings[0] };
}

/**
 * Drops one handle of `end`, once: the handle's own thread and, if that thread
 * died, the thread that saw it die may both try. The last handle closes the end;
 * when both ends are closed, nobody can read what is left, so it is drained to
 * free its stashed memory (big frames, spill segments, shared buffers in messages).
 */
function dropHandle(record: Int32Array, handles: Int32Array, end: 0 | 1, rings: MessageRing[], duplex: boolean): void {
  if (Atomics.compareExchange(record, OPEN, 1, 0) !== 1) return;
  if (Atomics.sub(handles, end, 1) !== 1) return;
  const { reader, writer } = sides(rings, end, duplex);
  writer?.closeWriter();
  reader?.closeReader();
  if (Atomics.load(handles, end === 0 ? 1 : 0) === 0) for (const ring of rings) drain(ring);
}

/** Decodes what a wired message holds (taking its stashed buffers, adopting its Connections, which GC closes); skips the rest. */
const discardFrame: FrameDecoder<null> = (kind, bytes, view, offset, length) => {
  if (kind !== KIND_BYTES) decodeFrame(kind, bytes, view, offset, length);
  return null;
};

/**
 * Reads and drops what is left in `ring`. A reader killed in the middle of a read
 * (terminate() runs no `finally`) may leave the ring's counts ahead of its frames:
 * a read then fails without taking anything, and would fail for ever. This runs
 * in a closing thread (often in its exit handlers), so it stops there, and after
 * as many reads as the ring claims to hold: what is left is freed with the ring's memory.
 */
function drain(ring: MessageRing): void {
  // At most as many reads as the ring says it holds (plus one to see the end): a ring
  // left inconsistent by a killed reader must not keep a closing thread busy for ever.
  for (let reads = ring.size + 1; reads > 0; reads--) {
    const before = ring.size;
    try {
      const result = ring.tryRead(discardFrame);
      if (result === NOTHING || result === CLOSED) return;
    } catch {
      // A frame that cannot be decoded here is dropped all the same (tryRead consumed it);
      // a read that took nothing will not take anything next time either.
      if (ring.size >= before) return;
    }
  }
}

function releaseEnd(ref: EndRef): void {
  if (!ref.open) return;
  ref.open = false;
  liveEnds.delete(ref);
  dropHandle(ref.record, ref.handles, ref.end, ref.rings, ref.rings.length === 2);
  deathList.untrack(ref.slot);
}

/** Handles dropped without close() release their end when collected (Python closes the fd in __del__). */
const finalizer = new FinalizationRegistry<EndRef>(releaseEnd);
/** Open handles of this thread, released when it exits (as a process exit closes its fds). */
const liveEnds = new Set<EndRef>();
process.once("exit", () => {
  for (const ref of [...liveEnds]) releaseEnd(ref);
});

/**
 * A worker thread lists each handle it opens (adopted or created), once, so that
 * the thread that sees it die (terminate(), kill(), a pool timeout) releases the
 * handle: a dead process's file descriptors close too. Listed: the record, the
 * handles words, then the rings' regions.
 */
const deathList = threadDeathList("pipe-end", ([record, handles, ...rings]) => {
  const words = new Int32Array(record!, 0, RECORD_WORDS);
  if (Atomics.load(words, OPEN) !== 1) return;
  const opened = rings.map((buffer, i) => MessageRing.open({ region: { kind: "sab", buffer }, capacity: words[CAPACITY + i]! }));
  dropHandle(words, new Int32Array(handles!, 0, 2), words[END] === 0 ? 0 : 1, opened, words[DUPLEX] === 1);
});

function osError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function checkCount(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be an integer >= 0, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}

/**
 * One end of a Pipe (Python's `multiprocessing.connection.Connection`). Send it to
 * a worker as a Process argument or inside a message; it arrives as the same end.
 *
 * @example
 * const [a, b] = mp.Pipe();
 * b.send({ hello: "world" });
 * console.log(await a.recv());
 */
export class Connection<T = unknown> {
  readonly #state: ConnectionState;
  readonly #ref: EndRef;
  /** Set after recvBytes met a message longer than maxLength: the stream position is lost, as in CPython. */
  #broken = false;

  /** @internal Use mp.Pipe(). */
  constructor(state: ConnectionState, token: symbol) {
    if (token !== constructing) throw new TypeError("Connections come in pairs from mp.Pipe(); do not construct them directly");
    this.#state = state;
    const handleRegion = SharedRegion.open(state.handles);
    const handles = handleRegion.int32(0, 2);
    const rings = state.rings.map((ring) => MessageRing.open(ring));
    const { reader, writer } = sides(rings, state.end, state.duplex);
    const record = new Int32Array(new SharedArrayBuffer(RECORD_WORDS * 4));
    record[OPEN] = 1;
    record[END] = state.end;
    record[DUPLEX] = state.duplex ? 1 : 0;
    state.rings.forEach((ring, i) => (record[CAPACITY + i] = ring.capacity));
    const slot = deathList.track([record.buffer as SharedArrayBuffer, handleRegion.buffer, ...state.rings.map((ring) => SharedRegion.open(ring.region).buffer)]);
    this.#ref = { handles, end: state.end, rings, reader, writer, open: true, record, slot };
    liveEnds.add(this.#ref);
    finalizer.register(this, this.#ref, this.#ref);
  }

  /** Whether this handle is closed. */
  get closed(): boolean {
    return !this.#ref.open;
  }

  /** Whether this end can receive (false for the sending end of a simplex pipe). */
  get readable(): boolean {
    return this.#ref.reader !== undefined;
  }

  /** Whether this end can send (false for the receiving end of a simplex pipe). */
  get writable(): boolean {
    return this.#ref.writer !== undefined;
  }

  /** Sends `obj` to the other end (never waits). Throws a TypeError naming the part that cannot be cloned. */
  send(obj: T): void {
    const writer = this.#writer();
    const message = encodeOutgoing(obj, WHAT);
    writer.tryWrite(message.kind, message.bytes, message.length, 0);
  }

  /** Receives the next message. Rejects with mp.EOFError when the other end is closed and nothing is left. */
  async recv(): Promise<T> {
    const reader = this.#reader();
    let result = reader.tryRead(decodeFrame);
    if (result === NOTHING) result = await reader.readAsync(decodeFrame, undefined);
    return this.#received(result) as T;
  }

  /** Blocking twin of `recv` (for workers). */
  recvSync(): T {
    const reader = this.#reader();
    return this.#received(reader.readSync(decodeFrame, undefined)) as T;
  }

  /**
   * Whether a message (or EOF) is ready to be read, waiting up to `timeout` ms
   * (0 or negative: just look; null: wait forever). @default 0
   */
  async poll(timeout: number | null = 0): Promise<boolean> {
    const reader = this.#reader();
    if (timeout !== null && (typeof timeout !== "number" || Number.isNaN(timeout))) {
      throw new TypeError(`Expected \`timeout\` to be a number of milliseconds or null, got \`${String(timeout)}\` (${typeof timeout})`);
    }
    // As in CPython, a negative timeout means "just look".
    return reader.waitReadable(deadlineOf(timeout === null ? null : Math.max(0, timeout)));
  }

  /** Sends `size` bytes of `buf` from `offset` as one message (Python's `send_bytes`). */
  sendBytes(buf: ArrayBufferView | ArrayBuffer | SharedArrayBuffer, offset = 0, size?: number): void {
    const writer = this.#writer();
    const bytes =
      buf instanceof ArrayBuffer || buf instanceof SharedArrayBuffer
        ? new Uint8Array(buf)
        : ArrayBuffer.isView(buf)
          ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
          : undefined;
    if (!bytes) throw new TypeError(`Expected \`buf\` to be a Uint8Array, Buffer, other typed array or ArrayBuffer, got ${typeof buf}`);
    checkCount("offset", offset);
    if (offset > bytes.length) throw new RangeError(`\`offset\` ${offset} is past the end of the buffer (${bytes.length} bytes)`);
    const length = size === undefined ? bytes.length - offset : checkCount("size", size);
    if (offset + length > bytes.length) {
      throw new RangeError(`\`offset + size\` (${offset + length}) is past the end of the buffer (${bytes.length} bytes)`);
    }
    writer.tryWrite(KIND_BYTES, offset === 0 ? bytes : bytes.subarray(offset), length, 0);
  }

  /**
   * Receives one message as bytes (Python's `recv_bytes`). If it is longer than
   * `maxLength`, rejects with an OSError-like Error (code "EMSGSIZE"); the message
   * is discarded and this handle becomes unusable, as in CPython.
   */
  async recvBytes(maxLength?: number): Promise<Uint8Array> {
    const reader = this.#reader();
    if (maxLength !== undefined) checkCount("maxLength", maxLength);
    let result = reader.tryRead(frameBytes);
    if (result === NOTHING) result = await reader.readAsync(frameBytes, undefined);
    const bytes = this.#received(result) as Uint8Array;
    if (maxLength !== undefined && bytes.length > maxLength) {
      this.#broken = true;
      throw osError(`bad message length: ${bytes.length} bytes, more than maxLength ${maxLength}; this connection is now unusable`, "EMSGSIZE");
    }
    return bytes;
  }

  /** Closes this handle; the end closes when its last handle does. */
  close(): void {
    if (!this.#ref.open) return;
    finalizer.unregister(this.#ref);
    releaseEnd(this.#ref);
  }

  /** @internal */
  [kWire](): WireForm {
    if (!this.#ref.open) throw new TypeError("Cannot send a closed Connection to another worker");
    // The receiver adopts this count (see the file comment).
    Atomics.add(this.#ref.handles, this.#ref.end, 1);
    return { type: "multiproc.Connection", state: this.#state };
  }

  [Symbol.dispose](): void {
    this.close();
  }

  get [Symbol.toStringTag](): string {
    return "Connection";
  }

  #check(): void {
    if (!this.#ref.open) throw osError("handle is closed: this Connection was closed with close()", "EBADF");
    if (this.#broken) throw osError("this Connection is unusable: recvBytes() met a message longer than maxLength", "EBADF");
  }

  #reader(): MessageRing {
    this.#check();
    const reader = this.#ref.reader;
    if (!reader) throw osError("connection is write-only: this end of a one-way Pipe(false) can only send", "EBADF");
    return reader;
  }

  #writer(): MessageRing {
    this.#check();
    const writer = this.#ref.writer;
    if (!writer) throw osError("connection is read-only: this end of a one-way Pipe(false) can only receive", "EBADF");
    if (writer.readerClosed) throw osError("broken pipe: the other end of the pipe is closed", "EPIPE");
    return writer;
  }

  #received(result: unknown): unknown {
    if (result === CLOSED) throw new EOFError("The other end of the pipe is closed and every message was read");
    return result;
  }
}

const constructing = Symbol("multiproc.connection.constructing");

/**
 * Returns the two ends of a new pipe (Python's `multiprocessing.Pipe`). With
 * `duplex` false, the first end only receives and the second only sends.
 *
 * @example
 * const [parentConn, childConn] = mp.Pipe();
 * @default duplex true
 */
export function Pipe<T = unknown>(duplex = true): [Connection<T>, Connection<T>] {
  if (typeof duplex !== "boolean") throw new TypeError(`Expected \`duplex\` to be a boolean, got \`${String(duplex)}\` (${typeof duplex})`);
  const handles = SharedRegion.create(8);
  const counts = handles.int32(0, 2);
  counts[0] = 1;
  counts[1] = 1;
  const rings = (duplex ? [0, 1] : [0]).map(() => MessageRing.create(PIPE_RING_BYTES).state);
  const make = (end: 0 | 1) => new Connection<T>({ handles: handles.handle(), rings, end, duplex }, constructing);
  return [make(0), make(1)];
}

registerWireType("multiproc.Connection", (state) => new Connection(state as ConnectionState, constructing));
