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
  let encoded: Outgoing | null;
  try {
    encoded = encodeWithin(value, what, ring.owner, ringLimit(ring));
  } catch {
    return RingSend.Declined;
  }
  return encoded === null ? RingSend.Declined : writeOutgoing(ring, encoded, wake);
}

/** The biggest message sendThroughRing writes into `ring`: a quarter of it. */
export function ringLimit(ring: MessageRing): number {
  return ring.capacity >> 2;
}

/** The end of sendThroughRing, for a message the caller has encoded itself (within ringLimit for its binary parts). */
export function writeOutgoing(ring: MessageRing, encoded: Outgoing, wake = true): RingSend {
  if (encoded.length > ringLimit(ring)) {
    dropOutgoing(encoded);
    return RingSend.Declined;
  }
  ring.tryWrite(encoded.kind, encoded.bytes, encoded.length, 0, wake);
  return ring.claimDoorbell() ? RingSend.WrittenRingDoorbell : RingSend.Written;
}
