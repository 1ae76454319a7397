/**
 * Where a ring keeps the buffers that do not fit in it (big frames, spill
 * segments), named by a number (a "ticket") that the ring's frames and header
 * carry: the one place where a ring of one process differs from a ring that
 * OS processes share.
 *
 * - thread: the native stash. A ticket names a SharedArrayBuffer of this
 *   process; the ring's buffer owns the tickets written into it, so a ring
 *   dropped unread frees them (see native/multiproc.cc).
 * - os: POSIX shared memory. A ticket names a shm object (see ticketName) that
 *   any process of the program opens. Its creator does not unlink it when it
 *   exits: a message must outlive a producer that put it and exited, as in
 *   Python. The reader unlinks it once it has it mapped (a big frame is read
 *   once; a spill segment is unlinked when drained), and the program's root
 *   process removes what is left when it exits (shm.ts, sweepAtExit).
 */
import { native } from "../util/native.ts";
import { createNamedShm, openNamedShm, ticketName, nextTicket } from "./shm.ts";

export interface BufferStore {
  /** A new buffer of `bytes` (its old contents may remain: callers write what they read) and its ticket; `owner`: the ring's buffer. */
  create(bytes: number, owner: SharedArrayBuffer): { ticket: number; buffer: SharedArrayBuffer };
  /** The buffer of a ticket, taken once: the ticket is spent. */
  take(ticket: number): SharedArrayBuffer;
  /** The buffer of a ticket, which stays valid. */
  peek(ticket: number): SharedArrayBuffer;
  /** Spends a ticket whose buffer is done with (a drained spill segment). */
  recycle(ticket: number): void;
  /**
   * Whether a ring keeps one drained spill segment for its next one (spill-chain.ts):
   * OS buffers are dear to make (shm_open, ftruncate, mmap, fresh pages); the
   * stash reuses warm buffers process-wide already.
   */
  readonly keepsDrained: boolean;
}

export const threadBuffers: BufferStore = {
  create(bytes, owner) {
    // A recycled segment's memory is warm (a fresh one page-faults on every 4 KiB first written).
    const buffer = native().reuse(bytes) || native().allocate(bytes);
    return { ticket: native().stash(buffer, owner), buffer };
  },
  take: (ticket) => native().take(ticket),
  peek: (ticket) => native().peek(ticket),
  recycle: (ticket) => native().recycle(ticket),
  keepsDrained: false,
};

export const osBuffers: BufferStore = {
  create(bytes) {
    for (;;) {
      const ticket = nextTicket();
      try {
        return { ticket, buffer: createNamedShm(ticketName(ticket), bytes) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error; // a stale name of a dead process
      }
    }
  },
  take(ticket) {
    const name = ticketName(ticket);
    const buffer = openNamedShm(name);
    native().shmUnlink(name); // read once: the mapping keeps the bytes until this buffer is collected
    return buffer;
  },
  peek: (ticket) => openNamedShm(ticketName(ticket)),
  recycle(ticket) {
    native().shmUnlink(ticketName(ticket));
  },
  keepsDrained: true,
};
