import assert from "node:assert/strict";
import { test } from "node:test";
import { CLOSED, KIND_USER, MessageRing, NOTHING, type FrameDecoder } from "../../src/memory/ring.ts";
import { fastDecode, fastEncode, fastScratch } from "../../src/wire/fast-codec.ts";
import * as mp from "multiproc";
import { native } from "../../src/util/native.ts";
import { settle } from "../helpers/gc.ts";

const T = { timeout: 20_000 };

/** Frames carry [u32 id][filler]; the decoder returns the id and checks the filler. */
function frame(id: number, size: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(4, size));
  new DataView(bytes.buffer).setUint32(0, id, true);
  bytes.fill(id & 0xff, 4);
  return bytes;
}

const readId: FrameDecoder<{ id: number; kind: number; length: number }> = (kind, bytes, view, offset, length) => {
  const id = view.getUint32(offset, true);
  for (let i = 4; i < length; i++) assert.equal(bytes[offset + i], id & 0xff, `byte ${i} of frame ${id}`);
  return { id, kind, length };
};

test("frames wrap around the end of the ring many times", T, () => {
  const ring = MessageRing.create(4096);
  let next = 0;
  let expected = 0;
  for (let round = 0; round < 2000; round++) {
    const size = 4 + ((round * 37) % 300);
    assert.equal(ring.tryWrite(KIND_USER, frame(next, size), size), true);
    next++;
    if (round % 3 !== 0) {
      const got = ring.tryRead(readId);
      assert.ok(got !== NOTHING && got !== CLOSED);
      assert.equal(got.id, expected++);
    }
  }
  while (ring.size > 0) {
    const got = ring.tryRead(readId);
    assert.ok(got !== NOTHING && got !== CLOSED);
    assert.equal(got.id, expected++);
  }
  assert.equal(expected, next);
  assert.equal(ring.tryRead(readId), NOTHING);
});

test("a full ring spills in order, big frames go indirect, and the stash is emptied", T, () => {
  const stashedBefore = native().stashed();
  const ring = MessageRing.create(4096);
  const sizes = [100, 2000, 50, 3000, 10_000, 8, 70_000, 500, 1];
  const written: number[] = [];
  for (let i = 0; i < 300; i++) {
    const size = Math.max(4, sizes[i % sizes.length]!);
    ring.tryWrite(KIND_USER + 1, frame(i, size), size);
    written.push(size);
  }
  assert.equal(ring.size, 300);
  assert.ok(native().stashed() > stashedBefore, "something was spilled or sent indirect");
  for (let i = 0; i < 300; i++) {
    const got = ring.tryRead(readId);
    assert.ok(got !== NOTHING && got !== CLOSED);
    assert.deepEqual(got, { id: i, kind: KIND_USER + 1, length: written[i] });
  }
  assert.equal(ring.size, 0);
  assert.equal(native().stashed(), stashedBefore);
  // After draining the spill, frames use the ring again.
  ring.tryWrite(KIND_USER, frame(7, 16), 16);
  assert.equal(native().stashed(), stashedBefore);
  assert.equal((ring.tryRead(readId) as { id: number }).id, 7);
});

test("limit bounds the number of frames, not bytes", T, () => {
  const ring = MessageRing.create(4096);
  assert.equal(ring.tryWrite(KIND_USER, frame(1, 8), 8, 2), true);
  assert.equal(ring.tryWrite(KIND_USER, frame(2, 3000), 3000, 2), true);
  assert.equal(ring.tryWrite(KIND_USER, frame(3, 8), 8, 2), false);
  ring.tryRead(readId);
  assert.equal(ring.tryWrite(KIND_USER, frame(3, 8), 8, 2), true);
});

test("a frame is consumed even when its decoder throws", T, () => {
  const ring = MessageRing.create(4096);
  ring.tryWrite(KIND_USER, frame(1, 8), 8);
  ring.tryWrite(KIND_USER, frame(2, 8), 8);
  assert.throws(() => ring.tryRead(() => {
    throw new Error("bad frame");
  }), /bad frame/);
  assert.equal((ring.tryRead(readId) as { id: number }).id, 2);
});

test("a closed writer reads as CLOSED once drained; waits return on close and on timeout", T, async () => {
  const ring = MessageRing.create(4096);
  ring.tryWrite(KIND_USER, frame(1, 8), 8);
  ring.closeWriter();
  assert.equal((ring.tryRead(readId) as { id: number }).id, 1);
  assert.equal(ring.tryRead(readId), CLOSED);
  assert.equal(ring.readSync(readId, undefined), CLOSED);

  const open = MessageRing.create(4096);
  const started = performance.now();
  assert.equal(await open.readAsync(readId, performance.now() + 50), NOTHING);
  assert.ok(performance.now() - started >= 40);
  assert.equal(open.waitReadableSync(performance.now() + 10), false);
  const waiting = open.readAsync(readId, undefined);
  setTimeout(() => open.closeWriter(), 10);
  assert.equal(await waiting, CLOSED);
});

test("the fast codec round-trips plain data and refuses what V8 must handle", T, () => {
  const roundTrip = (value: unknown): unknown => {
    const length = fastEncode(value);
    assert.ok(length > 0, `fast path for ${String(value)}`);
    const copy = Buffer.from(fastScratch().subarray(0, length));
    return fastDecode(copy, new DataView(copy.buffer, copy.byteOffset, copy.length), 0);
  };
  for (const value of [
    0, -1, 2 ** 31, -0, NaN, Infinity, 1.5, "", "abc", "é".repeat(60), "☃ snow", "\udc00x", "ü".repeat(10),
    null, undefined, true, false, [], [1, [2, "x"]], {}, { a: { b: [null, undefined] } }, new Uint8Array([1, 2, 3]),
  ]) {
    assert.deepEqual(roundTrip(value), value);
  }
  assert.equal(Object.is(roundTrip(-0), -0), true);
  // Every typed array kind, as raw bytes: a view into a bigger buffer gives only its own elements, in its own class.
  const big = new Float64Array(1024).map((_, i) => i / 3);
  for (const value of [
    new Int8Array([-1, 2]), new Uint8ClampedArray([255]), new Int16Array([-300]), new Uint16Array([65535]),
    new Int32Array([-(2 ** 31)]), new Uint32Array([2 ** 32 - 1]), new Float32Array([1.5, NaN]), new Float64Array([Math.PI, -0]),
    new BigInt64Array([-(2n ** 63n)]), new BigUint64Array([2n ** 64n - 1n]), new Float64Array(big.buffer, 8 * 3, 5), big,
  ]) {
    const back = roundTrip(value) as ArrayBufferView;
    assert.equal(back.constructor, value.constructor);
    assert.deepEqual(back, value);
    assert.equal(back.byteOffset, 0);
    assert.equal(back.byteLength, value.byteLength);
  }
  // Arrays of numbers are packed (int32 or float64); every number keeps its exact value, -0 and NaN included.
  const ints = Array.from({ length: 100 }, (_, i) => i * 7 - 300);
  const floats = Array.from({ length: 100 }, (_, i) => i / 7);
  for (const value of [ints, floats, [...ints, -0], [...ints, 2 ** 31], [...floats, NaN, Infinity], [...ints, "x"], [[...ints], [...floats]]]) {
    const back = roundTrip(value) as unknown[];
    assert.deepEqual(back, value);
    assert.ok(back.every((item, i) => Object.is(item, value[i]) || Array.isArray(item)));
  }
  // A message may start anywhere in its buffer (a manager's frame read from a socket): padding
  // counts from the message's start, and packed numbers are read there even when unaligned.
  for (const shift of [1, 3, 4, 5]) {
    for (const value of [ints, floats, new Uint8Array([1, 2, 3]), new Float64Array([1.5, 2.5]), { list: ints, bytes: new Int16Array([7]) }]) {
      const length = fastEncode(value);
      const holder = Buffer.alloc(length + 16);
      fastScratch().copy(holder, shift, 0, length);
      const message = holder.subarray(shift, shift + length);
      assert.deepEqual(fastDecode(message, new DataView(message.buffer, message.byteOffset, message.length), 0), value, `shifted by ${shift}`);
      assert.deepEqual(fastDecode(holder, new DataView(holder.buffer, holder.byteOffset, holder.length), shift, shift + length), value, `at offset ${shift}`);
    }
  }
  const holey = [...ints];
  delete holey[50];
  assert.equal(fastEncode(holey), -1, "an array with a hole takes V8's path");
  const shared = {};
  for (const value of [new Map(), new Set(), new Date(), 1n, Buffer.from("x"), [shared, shared], [1, , 2], new (class A {})(), new Float64Array(new SharedArrayBuffer(8)), new DataView(new ArrayBuffer(4))]) {
    assert.equal(fastEncode(value), -1);
  }
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(fastEncode(cyclic), -1);
});

/** Stash tickets and native allocations now, to compare with after a GC. */
function nativeCounts(): { stashed: number; allocations: number } {
  return { stashed: native().stashed(), allocations: native().allocations() };
}

/** Collects until both counts are back to (or below: earlier tests' rings may go meanwhile) `before`. */
function backTo(before: { stashed: number; allocations: number }): Promise<boolean> {
  return settle(() => native().stashed() <= before.stashed && native().allocations() <= before.allocations);
}

test("a dropped ring frees its memory and every ticket it owns (big frames, spill segments, buffers in messages)", T, async () => {
  const before = nativeCounts();
  const fill = () => {
    const ring = MessageRing.create(4096);
    for (let i = 0; i < 200; i++) ring.tryWrite(KIND_USER, frame(i, i % 20 === 0 ? 10_000 : 500), i % 20 === 0 ? 10_000 : 500);
    // As encodeMessage(value, ring.owner) does for the shared buffers inside a message, the ring's own buffer included.
    native().stash(new SharedArrayBuffer(64), ring.owner!);
    native().stash(ring.owner!, ring.owner!);
    const after = nativeCounts();
    assert.ok(after.allocations >= before.allocations + 3, "the ring, its spill segments and big frames are native allocations");
    assert.ok(after.stashed >= before.stashed + 12, "spill segments, big frames and message buffers are stashed");
  };
  fill();
  assert.ok(await backTo(before), JSON.stringify({ before, after: nativeCounts() }));
});

test("a taken buffer outlives the ring that owned its ticket; take removes the ticket from the owner", T, async () => {
  const before = nativeCounts();
  const shared = (() => {
    const owner = native().allocate(4096);
    assert.deepEqual(new Uint8Array(owner).subarray(0, 8), new Uint8Array(8), "allocate zero-fills");
    const ticket = native().stash(new SharedArrayBuffer(16), owner);
    const buffer = native().take(ticket);
    assert.throws(() => native().take(ticket), /unknown or already taken/);
    new Uint8Array(buffer)[0] = 42;
    return buffer;
  })();
  assert.ok(await backTo(before), JSON.stringify({ before, after: nativeCounts() }));
  assert.equal(new Uint8Array(shared)[0], 42);
});

test("stash refuses an owner that allocate did not make", T, () => {
  assert.throws(() => native().stash(new SharedArrayBuffer(8), new SharedArrayBuffer(8)), { name: "TypeError", message: /owner .*allocate\(\)/ });
  assert.throws(() => native().allocate(-1), RangeError);
});

test("queues dropped with unread items (library objects, big and spilled frames, themselves) free it all after GC", T, async () => {
  const before = nativeCounts();
  const fill = () => {
    for (let i = 0; i < 1000; i++) {
      const q = new mp.Queue<unknown>();
      q.putNowait({ lock: new mp.Lock() });
    }
    const spilled = new mp.Queue<unknown>();
    for (let i = 0; i < 150; i++) spilled.putNowait({ value: mp.Value("i", i), pad: "s".repeat(10_000) });
    spilled.putNowait(new Uint8Array(2_000_000));
    spilled.putNowait(spilled);
    const simple = new mp.SimpleQueue<unknown>();
    void simple.put({ simple, lock: new mp.Lock() });
    assert.ok(native().stashed() > before.stashed);
  };
  fill();
  assert.ok(await backTo(before), JSON.stringify({ before, after: nativeCounts() }));
});

test("a dropped pipe with unread messages frees its memory and tickets after GC", T, async () => {
  const before = nativeCounts();
  const fill = () => {
    const [a, b] = mp.Pipe<unknown>();
    for (let i = 0; i < 150; i++) a.send({ lock: new mp.Lock(), pad: "p".repeat(10_000) });
    b.send(new Uint8Array(1_000_000));
  };
  fill();
  assert.ok(await backTo(before), JSON.stringify({ before, after: nativeCounts() }));
});
