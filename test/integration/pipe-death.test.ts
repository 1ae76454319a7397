/**
 * A worker terminated while it holds pipe ends: its handles are released by the
 * thread that sees it die, as a dead process's file descriptors close (the peer
 * gets EOFError after draining; a sender gets EPIPE).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as mp from "multiproc";
import { SharedRegion } from "../../src/memory/region.ts";
import { kWire } from "../../src/symbols.ts";
import { native } from "../../src/util/native.ts";
import * as w from "../fixtures/pipe-death.ts";

const T = { timeout: 60_000 };

const state = () => new Int32Array(new SharedArrayBuffer(16));

/** Resolves once `state[index]` is no longer 0. */
async function signalled(words: Int32Array, index: number): Promise<void> {
  while (Atomics.load(words, index) === 0) {
    const wait = Atomics.waitAsync(words, index, 0, 20_000);
    if (wait.async) await wait.value;
  }
}

async function within<V>(promise: Promise<V>, ms: number, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The names a dead worker listed for release are gone from the native table. */
function assertNothingListed(thread: number): void {
  assert.ok(thread > 0, "the worker reported its thread id");
  assert.equal(native().lookup(`multiproc.death.pipe-end.${thread}`), undefined, "the dead worker's list is forgotten");
  assert.equal(native().lookup(`multiproc.death.pipe-end.${thread}.0.0`), undefined, "its handles are forgotten");
}

// Thread workers only: an OS process that is killed does not release the pipe handles it
// held (docs/limitations.md), while one that exits does, as process.test.ts shows.
describe("thread workers (handles of a killed worker thread are released by its parent)", () => {
  const context = "thread" as const;
  const ctx = mp.getContext(context);
  test("receiver terminated: the sender in the main thread gets EPIPE", T, async () => {
    const stash = native().stashed();
    const [reader, writer] = ctx.Pipe<number>(false);
    const s = state();
    const p = new mp.Process({ target: w.holdOpen, args: [reader, s], context });
    p.start();
    reader.close();
    await signalled(s, 1);
    for (let i = 0; i < 10; i++) writer.send(i); // unread: the receiver never reads
    p.terminate();
    await within(p.join(), 20_000, "join");
    assert.throws(() => writer.send(99), (error: Error & { code?: string }) => error.code === "EPIPE");
    writer.close();
    assertNothingListed(Atomics.load(s, 0));
    // Both ends closed: what was never read is dropped.
    assert.equal(native().stashed(), stash, "no stashed memory left");
  });

  test("receiver killed: a sender in a worker gets EPIPE and ends", T, async () => {
    const [reader, writer] = ctx.Pipe<number>(false);
    const rs = state();
    const ss = state();
    const receiver = new mp.Process({ target: w.holdOpen, args: [reader, rs], context });
    const sender = new mp.Process({ target: w.sendUntilError, args: [writer, ss], context });
    receiver.start();
    sender.start();
    reader.close();
    writer.close();
    await signalled(rs, 1);
    await signalled(ss, 1);
    receiver.kill();
    await within(receiver.join(), 20_000, "receiver join");
    await within(signalled(ss, 2), 20_000, "the sender's send to fail");
    assert.equal(Atomics.load(ss, 2), 1, "the sender's error is EPIPE");
    await within(sender.join(), 20_000, "sender join");
    assert.equal(sender.exitCode, 0);
    assertNothingListed(Atomics.load(rs, 0));
    assertNothingListed(Atomics.load(ss, 0));
  });

  test("sender killed: the receiver drains what was sent, then gets EOFError", T, async () => {
    const [reader, writer] = ctx.Pipe<number>(false);
    const s = state();
    const count = 5000; // more than the ring holds: part of it is in the spill
    const p = new mp.Process({ target: w.sendThenHang, args: [writer, count, s], context });
    p.start();
    writer.close();
    await signalled(s, 1);
    assert.equal(await reader.poll(200), true);
    p.kill();
    await within(p.join(), 20_000, "join");
    for (let i = 0; i < count; i++) assert.equal(await reader.recv(), i);
    await within(assert.rejects(reader.recv(), mp.EOFError), 20_000, "EOFError");
    reader.close();
    assertNothingListed(Atomics.load(s, 0));
  });

  test("a receiver blocked in recv() gets EOFError when the sender is terminated", T, async () => {
    const [reader, writer] = ctx.Pipe<number>(false);
    const s = state();
    const p = new mp.Process({ target: w.sendThenHang, args: [writer, 0, s], context });
    p.start();
    writer.close();
    await signalled(s, 1);
    const pending = reader.recv();
    p.terminate();
    await within(assert.rejects(pending, mp.EOFError), 20_000, "EOFError");
    await p.join();
    reader.close();
  });

  test("a handle closed by the worker is not released again when it is terminated", T, async () => {
    const [a, b] = ctx.Pipe<string>();
    const s = state();
    const p = new mp.Process({ target: w.closeThenHang, args: [b, s], context });
    p.start();
    // The main thread keeps its own handle of `b`: the end has 2 handles until the worker closes its own.
    await signalled(s, 1);
    p.terminate();
    await within(p.join(), 20_000, "join");
    // A double release would have closed `b`'s end: `a` would see EOF and `b` EPIPE.
    b.send("still open");
    assert.equal(await a.recv(), "still open");
    a.send("back");
    assert.equal(await b.recv(), "back");
    assert.equal(await a.poll(200), false, "no EOF while the main thread holds `b`");
    b.close();
    await within(assert.rejects(a.recv(), mp.EOFError), 20_000, "EOFError once `b` closes");
    a.close();
    assertNothingListed(Atomics.load(s, 0));
  });

  test("a pipe created in a worker closes when the worker is terminated", T, async () => {
    const [inbox, out] = mp.Pipe<mp.Connection<number>>();
    const s = state();
    const p = new mp.Process({ target: w.makePipeThenHang, args: [out, 3, s], context });
    p.start();
    out.close();
    const conn = await inbox.recv();
    await signalled(s, 1);
    p.terminate();
    await within(p.join(), 20_000, "join");
    for (let i = 0; i < 3; i++) assert.equal(await conn.recv(), i);
    await within(assert.rejects(conn.recv(), mp.EOFError), 20_000, "EOFError");
    assert.throws(() => conn.send(1), (error: Error & { code?: string }) => error.code === "EPIPE");
    await within(assert.rejects(inbox.recv(), mp.EOFError), 20_000, "EOFError on the pipe the worker sent on");
    conn.close();
    inbox.close();
    assertNothingListed(Atomics.load(s, 0));
  });

  test("a worker's own workers die with it: their handles are released too", T, async () => {
    const [reader, writer] = ctx.Pipe<number>(false);
    const childState = state();
    const s = state();
    const p = new mp.Process({ target: w.startHolderThenHang, args: [reader, childState, s], context });
    p.start();
    reader.close();
    await signalled(s, 1);
    writer.send(1);
    p.terminate();
    await within(p.join(), 20_000, "join");
    assert.throws(() => writer.send(2), (error: Error & { code?: string }) => error.code === "EPIPE");
    writer.close();
    assertNothingListed(Atomics.load(childState, 0));
    assertNothingListed(Atomics.load(s, 0));
    assert.equal(native().lookup(`multiproc.death.worker.${Atomics.load(s, 0)}`), undefined, "the list of its workers is forgotten");
  });
});

test("a pipe whose reader was killed mid-read still closes: the last close does not spin on what it cannot drain", T, async () => {
  // terminate() runs no `finally`: a reader killed after taking a frame but before counting it
  // leaves the ring's item count ahead of its frames. Drain used to retry that read for ever
  // (in the survivor's exit handlers, so it never exited: the soak's 1-in-80 "survivor-stuck").
  const [a, b] = mp.Pipe<number>(false);
  b.send(1);
  const wired = (a as unknown as { [kWire](): { state: { handles: Parameters<typeof SharedRegion.open>[0]; rings: { region: Parameters<typeof SharedRegion.open>[0] }[] } } })[kWire]();
  Atomics.sub(SharedRegion.open(wired.state.handles).int32(0, 2), 0, 1); // undo the count wiring added: nobody adopts it
  const ITEMS = 32; // src/memory/ring.ts: frames published and not yet taken
  Atomics.add(SharedRegion.open(wired.state.rings[0]!.region).int32(0, 64), ITEMS, 1);
  // Closed in a worker, so that a spinning drain fails the test instead of hanging it.
  const p = new mp.Process({ target: w.closeBoth, args: [a, b] });
  p.start();
  a.close();
  b.close();
  await within(p.join(), 20_000, "join of the worker closing the last handles");
  assert.equal(p.exitCode, 0);
});
