/**
 * The fast lane between a manager and a client on the same machine: two message
 * rings in OS shared memory (requests and replies), set up over the socket once
 * the handshake has passed, carrying the same frames the socket would.
 *
 * Why: a call over a socket costs two event-loop wake-ups (about 60 µs a round
 * trip on this kind of machine, more than CPython's threaded server), however
 * fast the rest is. Over the rings, a server that has just served a call looks
 * for the next one for a short, bounded time before it sleeps, and a client that
 * has just sent a call looks for its reply the same way, so back-to-back calls
 * cost a few microseconds and no sleep at all. Both looks are bounded (tens of
 * microseconds), so an idle server or a long call costs no CPU.
 *
 * The server sleeps on one doorbell word for all its clients: a client rings it
 * (one atomic add, plus a futex wake only when the server sleeps) after writing a
 * request. The socket stays open beside the rings: its closing is how the server
 * learns that a client died.
 */
import { withMemoryKind } from "../memory/kind.ts";
import { SharedRegion, type RegionHandle } from "../memory/region.ts";
import { unlinkShm } from "../memory/shm.ts";
import { CLOSED, KIND_USER, MessageRing, NOTHING, type RingState } from "../memory/ring.ts";
import { waitCore } from "../memory/wait.ts";
import type { FrameDecoder } from "../memory/frame.ts";

const RING_BYTES = 1 << 16;
/** Doorbell words: a sequence number bumped by every request, and whether the server sleeps. */
const BELL_SEQ = 0;
const BELL_SLEEPING = 1;

/** What a client needs to open its channel (plain data, sent over the authenticated socket). */
export interface ChannelState {
  requests: RingState;
  replies: RingState;
  doorbell: RegionHandle;
}

const copyOut: FrameDecoder<Buffer> = (_kind, bytes, _view, offset, length) => Buffer.from(bytes.subarray(offset, offset + length));

/** Takes one frame, or NOTHING/CLOSED. */
function take(ring: MessageRing): Buffer | typeof NOTHING | typeof CLOSED {
  return ring.size === 0 && !ring.writerClosed ? NOTHING : ring.tryRead(copyOut);
}

/** The server's doorbell, shared by all its channels. */
export class Doorbell {
  readonly region = withMemoryKind("os", () => SharedRegion.create(64));
  readonly #word = new Int32Array(this.region.buffer, 0, 2);

  /** Sleeps until a client rings after `seq` (read it with `seq()` before the last look). */
  async sleep(seq: number): Promise<void> {
    Atomics.store(this.#word, BELL_SLEEPING, 1);
    try {
      await waitCore.waitAsync(this.#word, BELL_SEQ, seq);
    } finally {
      Atomics.store(this.#word, BELL_SLEEPING, 0);
    }
  }

  seq(): number {
    return Atomics.load(this.#word, BELL_SEQ);
  }

  /** Wakes the server's own sleep (when it stops). */
  wake(): void {
    ring(this.#word);
  }
}

/** Rings a doorbell from a client. */
function ring(word: Int32Array): void {
  Atomics.add(word, BELL_SEQ, 1);
  if (Atomics.load(word, BELL_SLEEPING) !== 0) waitCore.notify(word, BELL_SEQ, 1);
}

/** The server's end of one client's channel. */
export class ServerChannel {
  readonly #requests = withMemoryKind("os", () => MessageRing.create(RING_BYTES));
  readonly #replies = withMemoryKind("os", () => MessageRing.create(RING_BYTES));
  readonly state: ChannelState;
  #unlinked = false;

  constructor(doorbell: Doorbell) {
    this.state = { requests: this.#requests.state, replies: this.#replies.state, doorbell: doorbell.region.handle() };
  }

  /** One request frame, or NOTHING. Once the client has read the state, the names are unlinked (the mappings stay). */
  take(): Buffer | typeof NOTHING | typeof CLOSED {
    const frame = take(this.#requests);
    if (frame !== NOTHING && !this.#unlinked) this.unlink();
    return frame;
  }

  send(frame: Uint8Array): void {
    this.#replies.tryWrite(KIND_USER, frame, frame.length);
  }

  /** Removes the rings' names from /dev/shm (both sides keep their mappings). */
  unlink(): void {
    if (this.#unlinked) return;
    this.#unlinked = true;
    for (const { region } of [this.state.requests, this.state.replies]) if (region.kind === "shm") unlinkShm(region.name);
  }

  close(): void {
    this.unlink();
    this.#replies.closeWriter();
    this.#requests.closeReader();
  }
}

/** How long a client looks for its reply before it sleeps (the server answers a quick call in a few µs). */
const CLIENT_LOOK_MS = 0.05;

/** The client's end. */
export class ClientChannel {
  readonly #requests: MessageRing;
  readonly #replies: MessageRing;
  readonly #bell: Int32Array;

  constructor(state: ChannelState) {
    this.#requests = MessageRing.open(state.requests);
    this.#replies = MessageRing.open(state.replies);
    this.#bell = new Int32Array(SharedRegion.open(state.doorbell).buffer, 0, 2);
  }

  send(frame: Uint8Array): void {
    this.#requests.tryWrite(KIND_USER, frame, frame.length);
    ring(this.#bell);
  }

  take(): Buffer | typeof NOTHING | typeof CLOSED {
    return take(this.#replies);
  }

  /** Looks for a reply for a bounded time without sleeping; NOTHING when none came. */
  look(): Buffer | typeof NOTHING | typeof CLOSED {
    const until = performance.now() + CLIENT_LOOK_MS;
    for (;;) {
      for (let i = 0; i < 256; i++) {
        if (this.#replies.size !== 0 || this.#replies.writerClosed) return take(this.#replies);
      }
      if (performance.now() > until) return NOTHING;
    }
  }

  /** Waits until a reply is there to take (or the server closed the channel). */
  async readable(): Promise<void> {
    await this.#replies.waitReadable(undefined);
  }

  close(): void {
    this.#requests.closeWriter();
    this.#replies.closeReader();
    // Also wakes this client's own wait in readable(): nothing else would once the
    // connection is gone, and in OS shared memory that wait (a futex on a native
    // thread) holds the event loop, so a program that shut its manager down would
    // never exit. No reply is read after close.
    this.#replies.closeWriter();
  }
}

/** Whether the client at the other end of a connection to `address` shares this machine's memory. */
export function isLocalAddress(address: { host: string; port: number } | string): boolean {
  if (typeof address === "string") return true;
  return address.host === "localhost" || address.host === "::1" || /^127\./.test(address.host);
}

export { NOTHING, CLOSED };
