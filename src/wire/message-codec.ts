/**
 * Turns one queue/pipe message into frame bytes and back: the fast codec for plain
 * data, V8's serializer (with library objects and shared buffers) for the rest,
 * raw bytes for Connection.sendBytes. Serialization happens once, at the call, so
 * a clone error reaches the caller and nothing is written.
 */
import { KIND_USER, type FrameDecoder } from "../memory/ring.ts";
import { uncloneableError } from "./clone-check.ts";
import { TOO_BIG, fastDecode, fastEncode, fastScratch } from "./fast-codec.ts";
import { decodeMessage, discardMessage, encodeMessage } from "./serialize.ts";

/** Frame kinds of a message: how its payload is encoded. */
const KIND_FAST = KIND_USER;
const KIND_V8 = KIND_USER + 1;
const KIND_V8_WIRED = KIND_USER + 2;
export const KIND_BYTES = KIND_USER + 3;

/** An encoded message. `bytes` may be the shared scratch buffer: use it before the next encode, or `detach` it. */
export interface Outgoing {
  kind: number;
  bytes: Uint8Array;
  length: number;
  /** Native-stash tickets of shared buffers inside (V8 path only). */
  tickets: number[] | undefined;
}

const reused: Outgoing = { kind: KIND_FAST, bytes: fastScratch(), length: 0, tickets: undefined };

/**
 * Encodes `value`; throws a TypeError naming the part that cannot be cloned (`what`: "an item to the queue").
 * `owner`: the ring it will be written to (MessageRing.owner), which then owns its shared buffers' tickets;
 * null for a ring in OS shared memory, which can carry no buffer of this process.
 */
export function encodeOutgoing(value: unknown, what: string, owner?: SharedArrayBuffer | null): Outgoing {
  const length = fastEncode(value);
  return length >= 0 ? fastOutgoing(length) : serializedOutgoing(value, what, owner);
}

/**
 * encodeOutgoing, or null, having copied no big array, when `value` holds a byte or typed
 * array (or, on V8's path, any buffer or view near its top) of more than `maxBinary`
 * bytes: a pool's ring hands those to its message path, which moves them with fewer copies.
 */
export function encodeWithin(value: unknown, what: string, owner: SharedArrayBuffer | null, maxBinary: number): Outgoing | null {
  const length = fastEncode(value, maxBinary);
  if (length >= 0) return fastOutgoing(length);
  if (length === TOO_BIG || holdsBinaryOver(value, maxBinary, 4)) return null;
  return serializedOutgoing(value, what, owner);
}

/** The Outgoing for the `length` bytes fastEncode (or fastEncodeFields) has just written into its scratch buffer. */
export function fastOutgoing(length: number): Outgoing {
  reused.kind = KIND_FAST;
  reused.bytes = fastScratch();
  reused.length = length;
  reused.tickets = undefined;
  return reused;
}

/** Whether `value`, looked into `depth` levels of arrays and plain objects, holds a buffer or view of more than `limit` bytes. */
function holdsBinaryOver(value: unknown, limit: number, depth: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength > limit;
  if (depth === 0) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (holdsBinaryOver(value[i], limit, depth - 1)) return true;
    return false;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) if (holdsBinaryOver((value as Record<string, unknown>)[key], limit, depth - 1)) return true;
  return false;
}

function serializedOutgoing(value: unknown, what: string, owner: SharedArrayBuffer | null | undefined): Outgoing {
  let encoded;
  try {
    encoded = encodeMessage(value, owner);
  } catch (error) {
    throw uncloneableError(value, "obj", what, error);
  }
  return {
    kind: encoded.wired ? KIND_V8_WIRED : KIND_V8,
    bytes: encoded.payload,
    length: encoded.payload.length,
    tickets: encoded.tickets.length > 0 ? encoded.tickets : undefined,
  };
}

/** A copy of `message` that survives later encodes (for a put that has to wait). */
export function detach(message: Outgoing): Outgoing {
  if (message !== reused) return message;
  return { kind: message.kind, bytes: Uint8Array.prototype.slice.call(message.bytes, 0, message.length), length: message.length, tickets: undefined };
}

/** Releases what an unsent message holds (stashed shared buffers). */
export function dropOutgoing(message: Outgoing): void {
  if (message.tickets) discardMessage(message.tickets);
}

/** Decodes a frame written from an Outgoing. Raw-bytes frames decode to a fresh Uint8Array. */
export const decodeFrame: FrameDecoder<unknown> = (kind, bytes, view, offset, length) => {
  if (kind === KIND_FAST) return fastDecode(bytes, view, offset);
  if (kind === KIND_BYTES) return copyOut(bytes, offset, length);
  return decodeMessage(bytes.subarray(offset, offset + length), kind === KIND_V8_WIRED);
};

/** The raw payload bytes of a frame, whatever its kind (Connection.recvBytes). */
export const frameBytes: FrameDecoder<Uint8Array> = (_kind, bytes, _view, offset, length) => copyOut(bytes, offset, length);

/** A plain (unshared) Uint8Array copy of `bytes[offset, offset + length)`. */
function copyOut(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(offset, offset + length));
  return copy;
}
