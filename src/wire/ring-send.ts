/**
 * The one way a pool's task and result rings are written (the scheduler writes tasks,
 * a worker writes results): the queues' codec, and the reader's doorbell message only
 * when the ring says none is on its way (MessageRing.claimDoorbell).
 */
import type { MessageRing } from "../memory/ring.ts";
import { dropOutgoing, encodeWithin, type Outgoing } from "./message-codec.ts";

/** What sendThroughRing did. */
export const enum RingSend {
  /** Nothing written: send it as a message instead. */
  Declined,
  /** Written; the reader will look by itself. */
  Written,
  /** Written, and the reader must be sent its doorbell message (MessageRing.claimDoorbell). */
  WrittenRingDoorbell,
}

/**
 * Writes `value` into `ring`, saying whether the reader must be sent its doorbell (the
 * answer rather than a callback: a closure per tiny task was garbage on its hot path).
 * Declined, writing nothing, when it should go as a message instead: it cannot be encoded
 * for the ring (the message path then says what cannot be cloned), or it is bigger than
 * a quarter of the ring (a message carries it with one copy fewer, and in OS memory an
 * out-of-ring frame would cost a segment of its own). `wake` false: a reader waiting on
 * the ring is left asleep (MessageRing.tryWrite).
 */
export function sendThroughRing(ring: MessageRing, value: unknown, what: string, wake = true): RingSend {
  const limit = ring.capacity >> 2;
  let encoded: Outgoing | null;
  try {
    encoded = encodeWithin(value, what, ring.owner, limit);
  } catch {
    return RingSend.Declined;
  }
  if (encoded === null) return RingSend.Declined;
  if (encoded.length > limit) {
    dropOutgoing(encoded);
    return RingSend.Declined;
  }
  ring.tryWrite(encoded.kind, encoded.bytes, encoded.length, 0, wake);
  return ring.claimDoorbell() ? RingSend.WrittenRingDoorbell : RingSend.Written;
}
