/**
 * Length-prefixed frames over a byte stream (TCP or a Unix socket): the framing of
 * CPython's `Connection._send_bytes` with a 4-byte big-endian length, plus a limit.
 *
 * The limit is checked on the length prefix, before any byte of the body is kept,
 * so a peer cannot make this process allocate more than `maxFrameBytes` (a hostile
 * "4 GiB follows" header closes the connection at once). Until a peer has passed
 * the authkey challenge the limit is HANDSHAKE_FRAME_BYTES.
 */
import type { Socket } from "node:net";

/** Frames allowed before authentication: a challenge or a digest (CPython's are under 100 bytes). */
export const HANDSHAKE_FRAME_BYTES = 256;
/** Default limit for one message after authentication (manager option `maxFrameBytes`). */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** A frame that breaks the protocol; the connection it came on is closed. */
export class FrameError extends Error {}

/** Splits a byte stream into frames; `push` returns every frame completed by a chunk. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #expected = -1;
  maxFrameBytes: number;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** @throws FrameError when a length prefix exceeds the limit. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#expected < 0) {
        if (this.#buffered < 4) break;
        const length = this.#take(4).readUInt32BE(0);
        if (length > this.maxFrameBytes) {
          throw new FrameError(`a frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes} bytes`);
        }
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      frames.push(this.#take(this.#expected));
      this.#expected = -1;
    }
    return frames;
  }

  #take(count: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= count) {
      out = first.subarray(0, count);
      if (first.length === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
    } else {
      out = Buffer.allocUnsafe(count);
      let filled = 0;
      while (filled < count) {
        const chunk = this.#chunks[0]!;
        const n = Math.min(chunk.length, count - filled);
        chunk.copy(out, filled, 0, n);
        filled += n;
        if (n === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(n);
      }
    }
    this.#buffered -= count;
    return out;
  }
}

/** Writes one frame (length prefix and body in one write). */
export function writeFrame(socket: Socket, body: Uint8Array): void {
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, 4);
  socket.write(frame);
}

/**
 * Reads frames from `socket` one at a time, for the handshake (before the
 * connection switches to its message loop). Rejects when the socket closes first.
 */
export class FrameReader {
  readonly #socket: Socket;
  readonly decoder: FrameDecoder;
  #ready: Buffer[] = [];
  #waiter: { resolve: (frame: Buffer) => void; reject: (error: Error) => void } | null = null;
  #failure: Error | null = null;
  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#ready.push(...this.decoder.push(chunk));
    } catch (error) {
      this.#fail(error as Error);
      this.#socket.destroy();
      return;
    }
    this.#deliver();
  };
  readonly #onClose = (): void => this.#fail(new FrameError("the connection closed"));
  readonly #onError = (error: Error): void => this.#fail(error);

  constructor(socket: Socket, maxFrameBytes: number) {
    this.#socket = socket;
    this.decoder = new FrameDecoder(maxFrameBytes);
    socket.on("data", this.#onData);
    socket.on("close", this.#onClose);
    socket.on("error", this.#onError);
  }

  next(): Promise<Buffer> {
    const frame = this.#ready.shift();
    if (frame) return Promise.resolve(frame);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** Stops reading; returns the frames already split off (the message loop takes them over). */
  detach(): Buffer[] {
    this.#socket.off("data", this.#onData);
    this.#socket.off("close", this.#onClose);
    this.#socket.off("error", this.#onError);
    const rest = this.#ready;
    this.#ready = [];
    return rest;
  }

  #deliver(): void {
    if (!this.#waiter || this.#ready.length === 0) return;
    const { resolve } = this.#waiter;
    this.#waiter = null;
    resolve(this.#ready.shift()!);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    if (this.#waiter) {
      const { reject } = this.#waiter;
      this.#waiter = null;
      reject(this.#failure);
    }
  }
}
