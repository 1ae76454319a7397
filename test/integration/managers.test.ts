import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import { waitUntil } from "../helpers/wait.ts";
import * as w from "../fixtures/manager-workers.ts";
import { childPids } from "../helpers/children.ts";

const T = { timeout: 120_000 };

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rejectsWith(promise: Promise<unknown>, check: (error: any) => boolean, what: string): Promise<any> {
  try {
    await promise;
  } catch (error) {
    assert.ok(check(error), `${what}: got ${String((error as Error)?.stack ?? error)}`);
    return error;
  }
  assert.fail(`${what}: expected a rejection`);
}

forEachContext((context) => {
  const ctx = mp.getContext(context);

  test("seed 000: a worker process fills a manager dict and list", T, async () => {
    await using manager = await mp.Manager();
    const d = manager.dict<string, string>();
    const l = manager.list<number>();
    const p = new ctx.Process({ target: w.fill, args: [d, l] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.deepEqual(await d.copy(), { key1: "val1", key2: "val2", key3: "val3", key4: "val4", key5: "val5" });
    assert.deepEqual(await l.copy(), [11, 12, 13, 14, 15]);
  });

  test("4 pool workers incrementing one key under a manager Lock lose no update", T, async () => {
    await using manager = await mp.Manager();
    await using pool = new ctx.Pool(4);
    const d = manager.dict<string, number>();
    const lock = manager.Lock();
    const counts = await Promise.all([0, 1, 2, 3].map(() => pool.apply(w.incrementUnderLock, [d, lock, "n", 25])));
    assert.deepEqual(counts, [25, 25, 25, 25]);
    assert.equal(await d.get("n"), 100);
  });

  test("proxies nest (a list inside a dict), cross queues and come back from tasks as the same object", T, async () => {
    await using manager = await mp.Manager();
    await using pool = new ctx.Pool(2);
    const d = manager.dict<string, mp.ListProxy<number>>();
    const inner = manager.list<number>([1]);
    await d.set("inner", inner);
    const returned = await pool.apply(w.appendToNested, [d, "inner", 2]);
    assert.ok(returned instanceof mp.ListProxy);
    await returned.append(3);
    assert.deepEqual(await inner.copy(), [1, 2, 3]);
    const viaDict = (await d.get("inner"))!;
    assert.deepEqual(await viaDict.copy(), [1, 2, 3]);

    const local = new ctx.Queue<mp.QueueProxy<string>>();
    const managedQueue = manager.Queue<string>();
    await local.put(managedQueue);
    const p = new ctx.Process({ target: w.putThroughQueuedProxy, args: [local, "through a queue"] });
    p.start();
    assert.equal(await managedQueue.get({ timeout: 60_000 }), "through a queue");
    await p.join();
    local.close();
  });

  test("a manager Barrier releases parties in workers together", T, async () => {
    await using manager = await mp.Manager();
    await using pool = new ctx.Pool(3);
    const barrier = manager.Barrier(3);
    const indices = await Promise.all([0, 1, 2].map(() => pool.apply(w.waitAtBarrier, [barrier])));
    assert.deepEqual([...indices].sort(), [0, 1, 2]);
  });

  test("a worker SIGKILLed holding a manager Lock: the server releases it for the others", T, async () => {
    await using manager = await mp.Manager();
    const lock = manager.Lock();
    const held = manager.Event();
    const p = new ctx.Process({ target: w.holdForever, args: [lock, held] });
    p.start();
    assert.equal(await held.wait(60_000), true);
    assert.equal(await lock.acquire({ timeout: 100 }), false, "the worker holds the lock");
    p.kill();
    await p.join();
    assert.equal(await lock.acquire({ timeout: 30_000 }), true, "the lock of the killed worker was released");
    await lock.release();
  });

  test("a worker killed in the middle of a blocking get does not take the next item", T, async () => {
    await using manager = await mp.Manager();
    const q = manager.Queue<string>();
    const waiting = manager.Event();
    const lock = manager.Lock();
    const p = new ctx.Process({ target: w.getForever, args: [q, waiting, lock] });
    p.start();
    assert.equal(await waiting.wait(60_000), true);
    p.kill();
    await p.join();
    // The server handles the killed client's closed connection in one step: it releases the lock and drops
    // the pending get. So once the lock is ours, the item must go to the next getter.
    assert.equal(await lock.acquire({ timeout: 30_000 }), true);
    const mine = q.get({ timeout: 30_000 });
    await q.put("item");
    assert.equal(await mine, "item");
  });
});

test("dict proxy: Python's dict methods", T, async () => {
  await using manager = await mp.Manager();
  const d = manager.dict<string, number>({ a: 1 });
  await d.set("b", 2);
  assert.equal(await d.get("a"), 1);
  assert.equal(await d.get("zz"), undefined);
  assert.equal(await d.get("zz", 7), 7);
  assert.equal(await d.has("b"), true);
  assert.equal(await d.len(), 2);
  assert.deepEqual(await d.keys(), ["a", "b"]);
  assert.deepEqual(await d.values(), [1, 2]);
  assert.deepEqual(await d.items(), [["a", 1], ["b", 2]]);
  await d.update({ c: 3 });
  assert.equal(await d.pop("c"), 3);
  assert.equal(await d.pop("c", 0), 0);
  const missing = await rejectsWith(d.pop("c"), (e) => e instanceof mp.RemoteError, "pop of a missing key");
  assert.equal(missing.remoteName, "KeyError");
  assert.match(missing.remoteStack, /at /);
  assert.equal(await d.setdefault("s", 9), 9);
  assert.equal(await d.setdefault("s", 10), 9);
  assert.equal(await d.delete("s"), true);
  await rejectsWith(d.delete("s"), (e) => e.remoteName === "KeyError", "delete of a missing key");
  assert.deepEqual(await d.copy(), { a: 1, b: 2 });
  await d.clear();
  assert.equal(await d.len(), 0);
  const m = manager.dict<number, string>(new Map([[1, "one"]]));
  assert.equal(await m.get(1), "one", "keys keep their type");
});

test("bad input gets a clear error at once, and the manager goes on serving", T, async () => {
  await using manager = await mp.Manager();
  assert.throws(() => manager.dict({ f: () => 1 }), (e: Error) => e instanceof TypeError && /Cannot send this value to a manager/.test(e.message));
  assert.throws(() => manager.list([new mp.Lock()]), (e: Error) => e instanceof TypeError && /manager\.Lock/.test(e.message), "the advice names the manager's own Lock");
  const d = manager.dict<string, unknown>();
  await rejectsWith(d.set("f", () => 1), (e) => e instanceof TypeError, "a function as a value");
  await rejectsWith(manager.Queue(-1 as number).qsize(), (e) => e instanceof mp.RemoteError || e instanceof TypeError, "a bad maxSize");
  await d.set("still", "serving");
  assert.equal(await d.get("still"), "serving");
});

test("list proxy: Python's list methods, negative indices, Python's sort order", T, async () => {
  await using manager = await mp.Manager();
  const l = manager.list<number>([3, 1, 2]);
  await l.append(10);
  await l.extend([5, 5]);
  await l.insert(0, 0);
  assert.deepEqual(await l.copy(), [0, 3, 1, 2, 10, 5, 5]);
  assert.equal(await l.get(-1), 5);
  await l.set(-1, 6);
  assert.equal(await l.count(5), 1);
  assert.equal(await l.index(10), 4);
  await l.remove(10);
  assert.equal(await l.pop(), 6);
  assert.equal(await l.pop(0), 0);
  await l.sort();
  assert.deepEqual(await l.copy(), [1, 2, 3, 5], "numbers sort by value, not as strings");
  await l.append(10);
  await l.sort({ reverse: true });
  assert.deepEqual(await l.copy(), [10, 5, 3, 2, 1]);
  await l.reverse();
  assert.equal(await l.len(), 5);
  const outOfRange = await rejectsWith(l.get(99), (e) => e instanceof mp.RemoteError, "index out of range");
  assert.equal(outOfRange.remoteName, "IndexError");
  await rejectsWith(l.remove(42), (e) => e.remoteName === "ValueError", "remove of a missing value");
  const objects = manager.list([{ a: 1 }]);
  assert.equal(await objects.index({ a: 1 }), 0, "values compare by content, as Python's ==");
});

test("Namespace, Value and Array proxies", T, async () => {
  await using manager = await mp.Manager();
  const ns = manager.Namespace<{ x: number; y: string }>();
  await ns.set("x", 1);
  await ns.set("y", "why");
  assert.equal(await ns.get("x"), 1);
  assert.deepEqual(await ns.copy(), { x: 1, y: "why" });
  const v = manager.Value("i", 5);
  assert.equal(await v.get(), 5);
  await v.set(6);
  assert.equal(await v.get(), 6);
  const a = manager.Array("d", [1.5, 2.5]);
  assert.equal(await a.len(), 2);
  await a.set(0, 3.5);
  assert.deepEqual(await a.copy(), [3.5, 2.5]);
  assert.equal(await a.get(-1), 2.5);
  await rejectsWith(a.set(0, "x" as unknown as number), (e) => e.remoteName === "TypeError", "a value of the wrong type");
  await rejectsWith(manager.Array("z", [1]).len(), (e) => e.remoteName === "TypeError" && /typecode/.test(e.message), "a bad typecode");
});

test("Queue and JoinableQueue proxies: FIFO, Empty and Full keep their class, timeouts, join", T, async () => {
  await using manager = await mp.Manager();
  const q = manager.Queue<number>(2);
  await q.put(1);
  await q.putNowait(2);
  assert.equal(await q.full(), true);
  await rejectsWith(q.putNowait(3), (e) => e instanceof mp.Full, "putNowait on a full queue");
  const start = performance.now();
  await rejectsWith(q.put(3, { timeout: 200 }), (e) => e instanceof mp.Full, "put with a timeout");
  assert.ok(performance.now() - start >= 150, "put waited for its timeout");
  assert.equal(await q.qsize(), 2);
  assert.equal(await q.get(), 1);
  assert.equal(await q.getNowait(), 2);
  await rejectsWith(q.getNowait(), (e) => e instanceof mp.Empty, "getNowait on an empty queue");
  await rejectsWith(q.get({ block: false }), (e) => e instanceof mp.Empty, "a non-blocking get");
  const pending = q.get({ timeout: 30_000 });
  await q.put(42);
  assert.equal(await pending, 42, "a blocked get is woken by a put");

  const jq = manager.JoinableQueue<string>();
  await jq.put("a");
  let joined = false;
  const join = jq.join().then(() => (joined = true));
  assert.equal(await jq.get(), "a");
  assert.equal(joined, false);
  await jq.taskDone();
  await join;
  await rejectsWith(jq.taskDone(), (e) => e.remoteName === "ValueError", "taskDone() too many times");
});

test("Lock, RLock, Semaphore, BoundedSemaphore, Event and Condition proxies", T, async () => {
  await using manager = await mp.Manager();
  const lock = manager.Lock();
  assert.equal(await lock.acquire(), true);
  assert.equal(await lock.acquire({ block: false }), false);
  const start = performance.now();
  assert.equal(await lock.acquire({ timeout: 200 }), false);
  assert.ok(performance.now() - start >= 150);
  assert.equal(await lock.locked(), true);
  await lock.release();
  await rejectsWith(lock.release(), (e) => e.remoteName === "RuntimeError", "release of an unlocked Lock");

  const rlock = manager.RLock();
  assert.equal(await rlock.acquire(), true);
  assert.equal(await rlock.acquire(), true, "re-entrant for the same client");
  await rlock.release();
  await rlock.release();
  await rejectsWith(rlock.release(), (e) => e.remoteName === "RuntimeError", "release of an un-acquired RLock");

  const sem = manager.Semaphore(2);
  assert.equal(await sem.acquire(), true);
  assert.equal(await sem.acquire(), true);
  assert.equal(await sem.acquire({ timeout: 50 }), false);
  assert.equal(await sem.getValue(), 0);
  await sem.release(2);
  assert.equal(await sem.getValue(), 2);
  const bounded = manager.BoundedSemaphore(1);
  await rejectsWith(bounded.release(), (e) => e.remoteName === "ValueError", "a BoundedSemaphore released too many times");

  const event = manager.Event();
  assert.equal(await event.wait(50), false);
  const waiting = event.wait(30_000);
  await event.set();
  assert.equal(await waiting, true);
  assert.equal(await event.isSet(), true);
  await event.clear();
  assert.equal(await event.isSet(), false);

  const cond = manager.Condition();
  const flag = manager.Value("i", 0);
  await cond.acquire();
  // This process is one client (one connection): the wait releases the lock, the next acquire retakes it.
  const waiter = cond.wait(30_000);
  await rejectsWith(manager.Condition().notify(), (e) => e.remoteName === "RuntimeError", "notify without the lock");
  await flag.set(1);
  await cond.acquire();
  await cond.notify();
  await cond.release();
  assert.equal(await waiter, true);
  await cond.release();
  await cond.acquire();
  assert.equal(await cond.waitFor(async () => (await flag.get()) === 1, 1000), true);
  assert.equal(await cond.wait(50), false, "a wait nobody notifies times out");
  await cond.release();
});

test("Barrier proxy: abort breaks waiters with BrokenBarrierError; an action is refused", T, async () => {
  await using manager = await mp.Manager();
  const barrier = manager.Barrier(2);
  assert.equal(await barrier.parties, 2);
  const waiting = barrier.wait(30_000); // requests of one client are served in order: the wait is pending first
  await barrier.abort();
  await rejectsWith(waiting, (e) => e instanceof mp.BrokenBarrierError, "a waiter of an aborted barrier");
  assert.equal(await barrier.broken, true);
  await barrier.reset();
  assert.equal(await barrier.broken, false);
  assert.throws(() => manager.Barrier(2, { action: () => {} } as never), /cannot run an action/);
});

test("shutdown() stops the server; afterwards every proxy call rejects at once with a clear error", T, async () => {
  const manager = await mp.Manager();
  const d = manager.dict();
  await d.set("a", 1);
  const q = manager.Queue();
  const blocked = q.get();
  blocked.catch(() => {}); // checked below, after shutdown() resolved
  await manager.shutdown();
  await rejectsWith(blocked, (e) => e instanceof mp.ProcessError && /manager/.test(e.message), "a call pending at shutdown");
  const start = performance.now();
  const error = await rejectsWith(d.get("a"), (e) => e instanceof mp.ProcessError, "a call after shutdown");
  assert.equal(error.code, "ERR_MP_MANAGER_CLOSED");
  assert.match(error.message, /shut down/);
  assert.ok(performance.now() - start < 1000, "rejected at once");
  assert.throws(() => manager.dict(), /shut down/);
  await manager.shutdown(); // twice is fine
});

test("a manager's server killed from outside: pending and later calls reject with ManagerClosedError, never hang", T, async () => {
  const before = new Set(childPids());
  const manager = await mp.Manager();
  const [server] = childPids().filter((pid) => !before.has(pid));
  assert.ok(server, "found the manager's server process");
  const d = manager.dict({ a: 1 });
  assert.equal(await d.get("a"), 1);
  const q = manager.Queue();
  const pending = q.get();
  pending.catch(() => {});
  process.kill(server, "SIGKILL");
  await rejectsWith(pending, (e) => e instanceof mp.ManagerClosedError, "a call pending when the server died");
  await rejectsWith(d.get("a"), (e) => e instanceof mp.ManagerClosedError && /cannot be reached|closed/.test(e.message), "a call after it died");
  await manager.shutdown();
});

/** Runs test/fixtures/manager-client.ts in `mode` as a program of its own, to its exit. */
async function runClientProgram(mode: string): Promise<{ code: number | null; out: string }> {
  const script = new URL("../fixtures/manager-client.ts", import.meta.url).pathname;
  const program = spawn(process.execPath, [...process.execArgv, script, mode], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  program.stdout!.on("data", (chunk: Buffer) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => program.on("exit", resolve));
  return { code, out };
}

test("a program whose manager's server was killed during a call still exits by itself", T, async () => {
  // A wait on the dead connection's lane that nothing wakes keeps it alive: this test then times out.
  const { code, out } = await runClientProgram("killed");
  assert.equal(out.trim(), "ManagerClosedError");
  assert.equal(code, 0);
});

test("a manager's server stops when its parent is SIGKILLed", T, async () => {
  const script = new URL("../fixtures/manager-client.ts", import.meta.url).pathname;
  const parent = spawn(process.execPath, [...process.execArgv, script, "parent"], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = "";
    parent.stdout!.on("data", (chunk: Buffer) => {
      out += chunk;
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
    parent.on("exit", (code) => reject(new Error(`the parent exited early (${code})`)));
  });
  assert.ok(pid > 0 && isAlive(pid), `the server runs (pid ${pid})`);
  parent.kill("SIGKILL");
  await waitUntil(() => !isAlive(pid) || /^\S+ \(.*\) Z/.test(readStat(pid)), `the manager server ${pid} is gone`);
});

test("a program that forgets shutdown() still exits, and its manager's server goes with it", T, async () => {
  const { code, out } = await runClientProgram("forget");
  assert.equal(code, 0);
  const pid = Number(out.trim());
  assert.ok(pid > 0, `the program printed its server's pid (${out})`);
  await waitUntil(() => !isAlive(pid) || /^\S+ \(.*\) Z/.test(readStat(pid)), `the manager server ${pid} is gone`);
});

function readStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return "";
  }
}

test("BaseManager.register: a user class served in the manager's process; only its public methods are callable", T, async () => {
  await using manager = new w.RemoteManager();
  await manager.start();
  const counter = manager.Counter(10);
  assert.equal(await counter.increment(), 11);
  assert.equal(await counter.increment(5), 16);
  assert.equal(await counter.value(), 16);
  const failure = await rejectsWith(counter.fail("boom"), (e) => e instanceof mp.RemoteError, "a method that throws");
  assert.equal(failure.remoteName, "RangeError");
  assert.equal(failure.remoteMessage, "boom");
  assert.match(failure.remoteStack, /fail/);
  for (const name of ["_secret", "constructor", "toString", "hasOwnProperty", "__proto__", "valueOf", "__defineGetter__"]) {
    const error = await rejectsWith(counter._callMethod(name, []), (e) => e instanceof mp.RemoteError, `calling ${name}`);
    assert.equal(error.remoteName, "AttributeError", name);
  }
  assert.equal((counter as unknown as Record<string, unknown>)._secret, undefined, "the proxy has no private names");
  assert.deepEqual(await counter.probe(), { secretCalls: 0, polluted: false });
  assert.throws(() => manager.create("Nope"), /not registered/);
});

test("remote: a second OS process connects over TCP with the authkey and shares a queue and a table; a wrong key is refused and the server goes on", T, async () => {
  const authkey = randomBytes(16).toString("hex");
  await using manager = new w.RemoteManager({ address: { host: "127.0.0.1", port: 0 }, authkey });
  await manager.start();
  const { port } = manager.address as { host: string; port: number };
  assert.ok(port > 0, "port 0 became a real port");

  const wrong = new w.RemoteManager({ address: { host: "127.0.0.1", port }, authkey: "not the key" });
  await rejectsWith(wrong.connect(), (e) => e instanceof mp.AuthenticationError, "connect with a wrong key");

  const queue = manager.getQueue();
  await queue.put("hello");
  const script = new URL("../fixtures/manager-client.ts", import.meta.url).pathname;
  const client = spawn(process.execPath, [...process.execArgv, script, "share", String(port), authkey], { stdio: ["ignore", "pipe", "inherit"] });
  const code = await new Promise((resolve) => client.on("exit", resolve));
  assert.equal(code, 0);
  assert.match(await queue.get({ timeout: 10_000 }), new RegExp(`^reply from ${client.pid} to hello$`));
  assert.equal(await manager.getTable().get("client"), client.pid);
  assert.equal(await manager.dict({ still: "serving" }).get("still"), "serving");
});

/** An authenticated raw connection to a manager, speaking the frames directly. */
async function rawClient(address: mp.Address, authkey: Buffer) {
  const { answerChallenge, deliverChallenge } = await import("../../src/managers/handshake.ts");
  const { FrameReader, writeFrame } = await import("../../src/managers/frames.ts");
  const socket = connect(typeof address === "string" ? { path: address } : address);
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const reader = new FrameReader(socket, 1 << 20);
  await answerChallenge(socket, reader, authkey);
  await deliverChallenge(socket, reader, authkey);
  await reader.next(); // the greeting
  return { socket, reader, send: (body: Uint8Array) => writeFrame(socket, body) };
}

test("fuzz: 1,000 malformed, oversized, truncated or hostile frames never crash the server or run anything", { timeout: 300_000 }, async () => {
  const authkey = randomBytes(16);
  await using manager = new w.RemoteManager({ authkey });
  await manager.start();
  const counter = manager.Counter(1);
  assert.equal(await counter.value(), 1);
  const { encodeManagerMessage } = await import("../../src/managers/codec.ts");
  const id = (counter as unknown as { [k: symbol]: () => { id: string } })[Symbol.for("multiproc.manager.proxyRef")]!().id;
  const hostile = (i: number): Buffer => {
    const none = () => undefined;
    switch (i % 10) {
      case 0: return randomBytes(1 + (i % 64));
      case 1: return Buffer.concat([Buffer.from([0]), randomBytes(8 + (i % 32))]);
      case 2: return encodeManagerMessage([0, i, id, "_secret", []], none);
      case 3: return encodeManagerMessage([0, i, id, ["constructor", "__proto__", "toString", "valueOf"][i % 4], []], none);
      case 4: return encodeManagerMessage([1, i, `${i}.1`, "child_process", []], none);
      case 5: return encodeManagerMessage(JSON.parse(`{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}`), none);
      case 6: return encodeManagerMessage([0, i, id, "increment", [JSON.parse(`{"__proto__": {"polluted": true}}`)]], none);
      case 7: return encodeManagerMessage([0, "x", 5, null, "args"], none);
      case 8: return encodeManagerMessage({ __multiproc_proxy__: 1, address: "/etc/passwd", id: "x", typeid: "dict" }, none);
      default: return Buffer.from([1, 0xff, 0x0f, 0x6f, 0x22, 0x09, 0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]);
    }
  };
  let sent = 0;
  // Unauthenticated junk: random bytes and huge length prefixes before the handshake.
  for (let i = 0; i < 200; i++, sent++) {
    const socket = connect(manager.address as string);
    await new Promise((resolve) => socket.once("connect", resolve).once("error", resolve));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(i % 2 ? 0xffffffff : 1 + (i % 300));
    socket.write(Buffer.concat([header, randomBytes(i % 50)]));
    socket.destroy();
  }
  // Authenticated hostile frames, a fresh connection every ten (a malformed frame closes its connection).
  for (let batch = 0; batch < 80; batch++) {
    const raw = await rawClient(manager.address, authkey);
    for (let i = 0; i < 10; i++, sent++) raw.send(hostile(batch * 10 + i));
    if (batch % 4 === 0) {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(0x7fffffff); // 2 GiB announced: refused before any body is read
      raw.socket.write(header);
    }
    if (batch % 4 === 1) raw.socket.write(Buffer.from([0, 0, 1, 0, 1, 2])); // truncated: 256 announced, 2 sent
    await new Promise((resolve) => setImmediate(resolve));
    raw.socket.destroy();
  }
  assert.ok(sent >= 1000);
  assert.equal(await counter.increment(), 2, "the server still serves its clients");
  assert.deepEqual(await counter.probe(), { secretCalls: 0, polluted: false }, "no private method ran and nothing was polluted");
  const fresh = manager.dict({ ok: true });
  assert.equal(await fresh.get("ok"), true);
});

test("50 concurrent clients: each with its own connection, all served, while one holds a lock", T, async () => {
  const authkey = randomBytes(16);
  await using manager = new w.RemoteManager({ authkey });
  await manager.start();
  const lock = manager.Lock();
  await lock.acquire();
  const list = manager.list<number>();
  const listId = (list as unknown as { [k: symbol]: () => { id: string } })[Symbol.for("multiproc.manager.proxyRef")]!().id;
  const { encodeManagerMessage, decodeManagerMessage } = await import("../../src/managers/codec.ts");
  const none = () => undefined;
  const clients = await Promise.all(Array.from({ length: 50 }, () => rawClient(manager.address, authkey)));
  const replies = await Promise.all(
    clients.map(async (client, i) => {
      client.send(encodeManagerMessage([0, 1, listId, "append", [i]], none));
      const reply = decodeManagerMessage(await client.reader.next(), (ref) => ref) as unknown[];
      client.socket.destroy();
      return reply;
    }),
  );
  assert.ok(replies.every((reply) => reply[1] === 0));
  assert.deepEqual([...(await list.copy())].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  await lock.release();
});

test("getServer().serveForever() serves in this process on a Unix socket path until a client shuts it down", T, async () => {
  const path = `${tmpdir()}/multiproc-manager-test-${process.pid}.sock`;
  const authkey = randomBytes(8);
  const server = new w.RemoteManager({ address: path, authkey }).getServer();
  const serving = server.serveForever();
  await waitUntil(() => server.address !== null, "the server listens");
  assert.ok(existsSync(path), "the socket file exists while serving");
  const client = new w.RemoteManager({ address: path, authkey });
  await client.connect();
  const counter = client.Counter(41);
  assert.equal(await counter.increment(), 42);
  const other = new w.RemoteManager({ address: path, authkey });
  await other.connect();
  const remote = other.dict();
  await remote.set("x", 1);
  assert.equal(await remote.get("x"), 1);
  // Python's manager.shutdown() is for managers it started; a connected client stops a server by its SHUTDOWN request.
  await (await import("../../src/managers/client.ts")).ManagerClient.for(path, authkey).shutdown();
  await serving;
  assert.ok(!existsSync(path), "the socket file is removed when the server stops");
  await rejectsWith(counter.value(), (e) => e instanceof mp.ProcessError, "a call after the server stopped");
  await client.shutdown();
  await other.shutdown();
});
