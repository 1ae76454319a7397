/**
 * The frame format of a MessageRing, the same in its data area and in its spill
 * segments (see ring.ts and spill-chain.ts):
 *
 *   +------------+----------+------------------------------+
 *   | u32 length | u32 kind | payload, padded to 8 bytes   |
 *   +------------+----------+------------------------------+
 *
 * Frames start 8-byte aligned, so payloads do too (the fast codec pads byte
 * arrays to an aligned address, and aligned copies out are faster).
 *
 * Kinds below KIND_USER are the ring's own:
 * - WRAP (data area only): nothing more before the end; continue at offset 0.
 * - INDIRECT: the payload is `[f64 ticket][u32 length][u32 kind]` of a frame whose
 *   bytes went to a SharedArrayBuffer of their own, kept by the native stash.
 */

export const FRAME_HEADER = 8;

export const KIND_WRAP = 0;
export const KIND_INDIRECT = 1;
/** Kinds from this one up are the caller's (how the payload is encoded). */
export const KIND_USER = 2;

/** Payload bytes of an INDIRECT frame. */
export const INDIRECT_BYTES = 16;

/** Decodes one frame's payload: `bytes[offset, offset + length)` (views over shared memory). */
export type FrameDecoder<R> = (kind: number, bytes: Buffer, view: DataView, offset: number, length: number) => R;

const align8 = (n: number): number => (n + 7) & ~7;

/** Bytes a frame with a `length`-byte payload takes, header and padding included. */
export function frameSize(length: number): number {
  return FRAME_HEADER + align8(length);
}

/** Writes a frame's header at `offset`. */
export function writeFrameHeader(view: DataView, offset: number, length: number, kind: number): void {
  view.setUint32(offset, length, true);
  view.setUint32(offset + 4, kind, true);
}
