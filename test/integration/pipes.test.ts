import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import * as w from "../fixtures/queue-workers.ts";

const T = { timeout: 60_000 };

test("a duplex pipe carries values both ways, in order", T, async () => {
  const [a, b] = mp.Pipe<unknown>();
  assert.equal(a.readable && a.writable && b.readable && b.writable, true);
  a.send([1, 2.25, null]);
  a.send({ big: "x".repeat(1000) });
  b.send("back");
  assert.deepEqual(await b.recv(), [1, 2.25, null]);
  assert.deepEqual(b.recvSync(), { big: "x".repeat(1000) });
  assert.equal(await a.recv(), "back");
  a.close();
  b.close();
});

test("poll looks, waits and sees EOF (CPython test_connection)", T, async () => {
  const [a, b] = mp.Pipe();
  let started = performance.now();
  assert.equal(await a.poll(), false);
  assert.equal(await a.poll(-1), false);
  assert.ok(performance.now() - started < 200);
  started = performance.now();
  assert.equal(await a.poll(150), false);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 100 && elapsed < 5_000, `poll waited ${elapsed} ms`);
  b.send(null);
  assert.equal(await a.poll(1000), true);
  assert.equal(await a.recv(), null);
  const waiting = a.poll(null);
  b.send(1);
  assert.equal(await waiting, true);
  assert.equal(await a.recv(), 1);
  b.close();
  assert.equal(await a.poll(), true); // EOF is "ready"
  await assert.rejects(a.recv(), mp.EOFError);
  await assert.rejects(a.recvBytes(), mp.EOFError);
  assert.throws(() => a.recvSync(), mp.EOFError);
  assert.throws(() => a.send(1), /broken pipe/);
  a.close();
});

test("simplex: the first end only receives, the second only sends (CPython test_duplex_false)", T, async () => {
  const [reader, writer] = mp.Pipe(false);
  writer.send(1);
  assert.equal(await reader.recv(), 1);
  assert.equal(reader.readable, true);
  assert.equal(reader.writable, false);
  assert.equal(writer.readable, false);
  assert.equal(writer.writable, true);
  assert.throws(() => reader.send(2), /connection is read-only/);
  await assert.rejects(writer.recv(), /connection is write-only/);
  await assert.rejects(writer.poll(), /connection is write-only/);
  reader.close();
  writer.close();
});

test("sendBytes with offset and size; recvBytes with maxLength (CPython test_sendbytes)", T, async () => {
  const msg = new TextEncoder().encode("abcdefghijklmnopqrstuvwxyz");
  const [a, b] = mp.Pipe();
  const text = async () => new TextDecoder().decode(await b.recvBytes());
  a.sendBytes(msg);
  assert.equal(await text(), "abcdefghijklmnopqrstuvwxyz");
  a.sendBytes(msg, 5);
  assert.equal(await text(), "fghijklmnopqrstuvwxyz");
  a.sendBytes(msg, 7, 8);
  assert.equal(await text(), "hijklmno");
  a.sendBytes(msg, 26);
  assert.equal(await text(), "");
  a.sendBytes(msg, 26, 0);
  assert.equal(await text(), "");
  assert.throws(() => a.sendBytes(msg, 27), RangeError);
  assert.throws(() => a.sendBytes(msg, 22, 5), RangeError);
  assert.throws(() => a.sendBytes(msg, 26, 1), RangeError);
  assert.throws(() => a.sendBytes(msg, -1), RangeError);
  assert.throws(() => a.sendBytes(msg, 4, -1), RangeError);
  a.sendBytes(new Uint32Array([1, 2]));
  assert.equal((await b.recvBytes()).length, 8);
  // A message bigger than maxLength breaks the connection, as in CPython.
  a.sendBytes(msg);
  await assert.rejects(b.recvBytes(10), /bad message length/);
  await assert.rejects(b.recvBytes(), /unusable/);
  a.close();
  b.close();
});

test("a closed handle refuses every call; an uncloneable message fails at send", T, async () => {
  const [a, b] = mp.Pipe();
  assert.throws(() => a.send({ f: () => 1 }), /obj\.f/);
  a.send("ok");
  assert.equal(await b.recv(), "ok");
  a.close();
  assert.equal(a.closed, true);
  assert.throws(() => a.send(1), /handle is closed/);
  await assert.rejects(a.recv(), /handle is closed/);
  a.close(); // closing twice is fine
  b.close();
});

test("a 16 MiB message goes through a pipe, as bytes and as a value", T, async () => {
  const [a, b] = mp.Pipe();
  const big = new Uint8Array(16 * 1024 * 1024).fill(88);
  a.sendBytes(big);
  assert.deepEqual(await b.recvBytes(), big);
  a.send({ big });
  assert.deepEqual(((await b.recv()) as { big: Uint8Array }).big, big);
  a.close();
  b.close();
});

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  test("echo through a child, then EOF after the child closes (CPython test_connection)", T, async () => {
    const [conn, childConn] = ctx.Pipe();
    const p = new mp.Process({ target: w.echo, args: [childConn], context });
    p.start();
    childConn.close(); // safe right after start (CPython test_spawn_close)
    const seq = [1, 2.25, null];
    conn.send(seq);
    assert.deepEqual(await conn.recv(), seq);
    const big = "X".repeat(10 * 1024 * 1024);
    conn.send(big);
    assert.equal(await conn.recv(), big);
    conn.send(null);
    await p.join();
    assert.equal(p.exitCode, 0);
    await assert.rejects(conn.recv(), mp.EOFError);
    conn.close();
  });

  test("a child sends [42, null, 'hello'] and closes; the parent reads it, then EOF", T, async () => {
    const [parentConn, childConn] = ctx.Pipe();
    const p = new mp.Process({ target: w.sendAll, args: [childConn, [[42, null, "hello"]]], context });
    p.start();
    await p.join();
    childConn.close();
    assert.deepEqual(await parentConn.recv(), [42, null, "hello"]);
    await assert.rejects(parentConn.recv(), mp.EOFError);
    parentConn.close();
  });

  test("a reader in a worker sees EOF when the main thread closes its end", T, async () => {
    const [reader, writer] = ctx.Pipe(false);
    const report = new ctx.Queue<{ count: number; eof: boolean }>();
    const p = new mp.Process({ target: w.countUntilEof, args: [reader, report], context });
    p.start();
    reader.close();
    for (let i = 0; i < 1000; i++) writer.send(i);
    writer.close();
    assert.deepEqual(await report.get({ timeout: 20_000 }), { count: 1000, eof: true });
    await p.join();
  });

  test("the end of a worker that exits without close() closes with it", T, async () => {
    const [parentConn, childConn] = ctx.Pipe();
    const p = new mp.Process({ target: w.sendWithoutClose, args: [childConn], context });
    p.start();
    childConn.close();
    assert.equal(await parentConn.recv(), "bye");
    await p.join();
    await assert.rejects(parentConn.recv(), mp.EOFError);
    parentConn.close();
  });

  test("raw bytes from a child", T, async () => {
    const [a, b] = ctx.Pipe();
    const p = new mp.Process({ target: w.sendBytes, args: [b, [0, 1, 100, 70_000, 1 << 20]], context });
    p.start();
    b.close();
    for (const size of [0, 1, 100, 70_000, 1 << 20]) {
      const bytes = await a.recvBytes();
      assert.equal(bytes.length, size);
      if (size) assert.equal(bytes[size - 1], size & 0xff);
    }
    await assert.rejects(a.recvBytes(), mp.EOFError);
    await p.join();
    a.close();
  });
});
