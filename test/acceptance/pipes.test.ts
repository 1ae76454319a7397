/** Acceptance: Pipe and Connection (CPython _TestConnection). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { echo, echoBytes, echoSync, sendAll, sendNoClose } from "./fixtures/pipe-workers.ts";

const T = { timeout: 30_000 };
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

test("duplex Pipe: send/recv both ways, poll, attributes (test_connection)", T, async () => {
  const [a, b] = mp.Pipe();
  assert.equal(a.readable && a.writable && b.readable && b.writable, true);
  assert.equal(a.closed, false);
  assert.equal(await b.poll(), false);
  const [r, ms] = await (async () => {
    const t0 = performance.now();
    const x = await b.poll(150);
    return [x, performance.now() - t0] as const;
  })();
  assert.equal(r, false);
  assert.ok(ms >= 100, `elapsed ${ms}`);
  a.send({ x: [1, 2n, "s"] });
  assert.equal(await b.poll(), true);
  assert.equal(await b.poll(0), true);
  assert.deepEqual(await b.recv(), { x: [1, 2n, "s"] });
  b.send(null);
  b.send(undefined);
  assert.equal(await a.recv(), null);
  assert.equal(a.recvSync(), undefined);
  const big = "q".repeat(1 << 20);
  a.send(big);
  assert.equal(await b.recv(), big);
  a.close();
  b.close();
  assert.equal(a.closed, true);
});

test("sendBytes/recvBytes with offset and size (test_sendbytes, test_empty_string)", T, async () => {
  const [a, b] = mp.Pipe();
  const msg = enc("abcdefghijklmnopqrstuvwxyz");
  a.sendBytes(msg);
  assert.equal(dec(await b.recvBytes()), "abcdefghijklmnopqrstuvwxyz");
  a.sendBytes(msg, 5);
  assert.equal(dec(await b.recvBytes()), "fghijklmnopqrstuvwxyz");
  a.sendBytes(msg, 7, 8);
  assert.equal(dec(await b.recvBytes()), "hijklmno");
  a.sendBytes(msg, 26);
  assert.equal(dec(await b.recvBytes()), "");
  a.sendBytes(msg, 26, 0);
  assert.equal(dec(await b.recvBytes()), "");
  for (const [off, size] of [[27, undefined], [22, 5], [26, 1], [-1, undefined], [4, -1]] as const) {
    assert.throws(() => a.sendBytes(msg, off, size), RangeError, `offset ${off} size ${size}`);
  }
  a.sendBytes(new Uint8Array(0));
  assert.equal(await b.poll(), true);
  const empty = await b.recvBytes();
  assert.ok(empty instanceof Uint8Array);
  assert.equal(empty.length, 0);
  a.sendBytes(Buffer.from("buf"));
  assert.equal(dec(await b.recvBytes()), "buf");
  a.sendBytes(new Uint8Array([1, 2, 3]).buffer as ArrayBuffer);
  assert.deepEqual([...(await b.recvBytes())], [1, 2, 3]);
  a.close();
  b.close();
});

test("recvBytes(maxLength) rejects a longer message (Python OSError)", T, async () => {
  const [a, b] = mp.Pipe();
  a.sendBytes(enc("0123456789"));
  await assert.rejects(b.recvBytes(4));
  a.close();
  b.close();
});

test("Pipe(false): a only receives, b only sends (test_duplex_false)", T, async () => {
  const [reader, writer] = mp.Pipe(false);
  assert.equal(reader.readable, true);
  assert.equal(reader.writable, false);
  assert.equal(writer.readable, false);
  assert.equal(writer.writable, true);
  writer.send(1);
  assert.equal(await reader.recv(), 1);
  assert.throws(() => reader.send(1)); // Python: OSError
  await assert.rejects(async () => writer.recv()); // Python: OSError
  reader.close();
  writer.close();
});

test("recv after the other end closed and drained rejects with EOFError (test_spawn_close)", T, async () => {
  const [a, b] = mp.Pipe();
  a.send("last");
  a.close();
  assert.equal(await b.recv(), "last");
  await assert.rejects(b.recv(), mp.EOFError);
  assert.throws(() => b.recvSync(), mp.EOFError);
  await assert.rejects(b.recvBytes(), mp.EOFError);
  b.close();
});

test("a pending recv is rejected with EOFError when the other end closes", T, async () => {
  const [a, b] = mp.Pipe();
  const pending = b.recv();
  setTimeout(() => a.close(), 50);
  await assert.rejects(pending, mp.EOFError);
  b.close();
});

test("using a closed connection throws", T, async () => {
  const [a, b] = mp.Pipe();
  a.close();
  a.close(); // idempotent
  assert.throws(() => a.send(1)); // Python: OSError handle is closed
  await assert.rejects(async () => a.recv());
  b.close();
});

test("send of an uncloneable value throws a TypeError at the call", T, () => {
  const [a, b] = mp.Pipe();
  assert.throws(() => a.send(() => 1), TypeError);
  a.close();
  b.close();
});

test("echo across workers: recv (async) and recvSync sides (test_connection with a child)", T, async () => {
  for (const target of [echo, echoSync]) {
    const [parent, child] = mp.Pipe();
    const p = new mp.Process({ target, args: [child], context: "thread" });
    p.start();
    child.close(); // as in Python: the parent closes its copy of the child's end
    for (const v of [1, "two", { three: [3] }, new Map([[4, 4]])]) {
      parent.send(v);
      assert.deepEqual(await parent.recv(), v);
    }
    parent.send(null);
    await assert.rejects(parent.recv(), mp.EOFError);
    await p.join();
    assert.equal(p.exitCode, 0);
    parent.close();
  }
});

test("bytes echoed by a worker; one-way pipe from a worker ends with EOFError", T, async () => {
  const [parent, child] = mp.Pipe();
  const p = new mp.Process({ target: echoBytes, args: [child] });
  p.start();
  parent.sendBytes(enc("hello bytes"));
  assert.equal(dec(await parent.recvBytes()), "hello bytes");
  await p.join();
  parent.close();

  const [reader, writer] = mp.Pipe(false);
  const q = new mp.Process({ target: sendAll, args: [writer, [1, 2, 3]] });
  q.start();
  writer.close();
  assert.equal(await reader.poll(20_000), true);
  assert.deepEqual([await reader.recv(), await reader.recv(), await reader.recv()], [1, 2, 3]);
  await q.join();
  await assert.rejects(reader.recv(), mp.EOFError);
  reader.close();
});

test("poll(timeout) wakes when a worker sends later", T, async () => {
  const [reader, writer] = mp.Pipe(false);
  const q = new mp.Process({ target: sendAll, args: [writer, ["late"]] });
  q.start();
  assert.equal(await reader.poll(20_000), true);
  assert.equal(await reader.recv(), "late");
  await q.join();
  reader.close();
});

test("a worker that exits without closing its end still gives EOFError (OS closes it in Python)", T, async () => {
  const [reader, writer] = mp.Pipe(false);
  const p = new mp.Process({ target: sendNoClose, args: [writer, ["x"]] });
  p.start();
  writer.close();
  assert.equal(await reader.recv(), "x");
  await p.join();
  await assert.rejects(reader.recv(), mp.EOFError);
  reader.close();
});
