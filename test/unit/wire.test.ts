import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { kWire } from "../../src/symbols.ts";
import { decodeFromWire, decodeMessage, encodeForWire, encodeMessage, registerWireType } from "../../src/wire/serialize.ts";
import { decodeError, encodeError } from "../../src/wire/errors.ts";
import { findUncloneable } from "../../src/wire/clone-check.ts";
import { loadFunction, resolveFunction, withOrigin } from "../../src/wire/functions.ts";
import { timesFactor } from "../fixtures/unregistered.ts";
import * as fixtures from "../fixtures/exports-for-resolution.ts";

const T = { timeout: 10_000 };

class FakeShared {
  constructor(readonly buffer: SharedArrayBuffer) {}
  [kWire]() {
    return { type: "FakeShared", state: { buffer: this.buffer } };
  }
}
registerWireType("FakeShared", (state) => new FakeShared((state as { buffer: SharedArrayBuffer }).buffer));

test("encodeForWire returns plain data untouched and unflagged", T, () => {
  const data = { a: [1, 2, { b: "c" }], m: new Map([[1, { d: 2 }]]), s: new Set([1]), t: new Uint8Array(4) };
  const { value, wired } = encodeForWire(data);
  assert.equal(value, data);
  assert.equal(wired, false);
});

test("library objects are replaced by placeholders, copied only along their path", T, () => {
  const shared = new FakeShared(new SharedArrayBuffer(8));
  const untouched = { keep: true };
  const data = { list: [1, shared], untouched, map: new Map([["k", shared]]) };
  const { value, wired } = encodeForWire(data);
  assert.equal(wired, true);
  assert.notEqual(value, data);
  assert.equal((value as typeof data).untouched, untouched);
  assert.ok(data.list[1] instanceof FakeShared, "the caller's value is not modified");
  const revived = decodeFromWire(structuredClone(value)) as typeof data;
  assert.ok(revived.list[1] instanceof FakeShared);
  assert.equal((revived.list[1] as FakeShared).buffer.byteLength, 8);
  assert.ok(revived.map.get("k") instanceof FakeShared);
});

test("byte messages carry shared buffers and typed views over them as shared memory", T, () => {
  const buffer = new SharedArrayBuffer(16);
  const view = new Int32Array(buffer, 4, 2);
  const message = encodeMessage({ view, buffer, shared: new FakeShared(buffer), n: 5n });
  assert.equal(message.wired, true);
  const out = decodeMessage(message.payload, message.wired) as { view: Int32Array; buffer: SharedArrayBuffer; shared: FakeShared; n: bigint };
  out.view[0] = 42;
  assert.equal(new Int32Array(buffer)[1], 42);
  new Int32Array(out.buffer)[3] = 7;
  assert.equal(new Int32Array(buffer)[3], 7);
  new Int32Array(out.shared.buffer)[0] = 9;
  assert.equal(new Int32Array(buffer)[0], 9);
  assert.equal(out.n, 5n);
});

test("errors keep class, message, own properties, cause and both stacks", T, () => {
  const original = new RangeError("too far", { cause: new Error("root") });
  Object.assign(original, { code: "E_FAR", detail: { at: 3 } });
  const rebuilt = decodeError(structuredClone(encodeError(original)), "PoolWorker-1", new Error("caller").stack);
  assert.ok(rebuilt instanceof RangeError);
  assert.equal(rebuilt.message, "too far");
  assert.equal((rebuilt as RangeError & { code: string }).code, "E_FAR");
  assert.deepEqual((rebuilt as RangeError & { detail: unknown }).detail, { at: 3 });
  assert.ok(rebuilt.cause instanceof Error);
  assert.equal((rebuilt.cause as Error).message, "root");
  assert.match(rebuilt.stack!, /RangeError: too far/);
  assert.match(rebuilt.stack!, /raised in PoolWorker-1/);
  assert.match(rebuilt.stack!, /wire\.test\.ts/);
});

test("library error classes survive the trip", T, () => {
  const rebuilt = decodeError(structuredClone(encodeError(new mp.TimeoutError("late", { timeout: 5 }))));
  assert.ok(rebuilt instanceof mp.TimeoutError);
  assert.ok(rebuilt instanceof mp.ProcessError);
  assert.equal((rebuilt as mp.TimeoutError).timeout, 5);
  assert.equal((rebuilt as mp.TimeoutError).code, "ERR_MP_TIMEOUT");
});

test("non-error throws become errors that keep the thrown value", T, () => {
  const rebuilt = decodeError(structuredClone(encodeError("just a string")));
  assert.equal(rebuilt.message, "just a string");
});

test("findUncloneable names the path of the first bad value", T, () => {
  assert.deepEqual(findUncloneable({ a: [1, { f: () => 1 }] }, "args")?.path, "args.a[1].f");
  assert.equal(findUncloneable({ a: [1, 2] }, "args"), undefined);
  assert.match(findUncloneable(new Map([["k", Symbol("s")]]), "v")!.path, /get\("k"\)/);
});

test("exported functions resolve by module and name", T, () => {
  const url = new URL("../fixtures/exports-for-resolution.ts", import.meta.url).href;
  assert.deepEqual(resolveFunction(fixtures.plainExport, [url]), { kind: "export", module: url, name: "plainExport" });
  assert.deepEqual(resolveFunction(fixtures.arrowExport, [url]), { kind: "export", module: url, name: "arrowExport" });
  assert.deepEqual(resolveFunction(fixtures.publicName, [url]), { kind: "export", module: url, name: "publicName" });
  assert.deepEqual(resolveFunction(Math.max), { kind: "global", path: "Math.max" });
});

test("other functions go as source text and compile in the worker, methods included", T, async () => {
  const ref = resolveFunction((x: number) => x * 3);
  assert.equal(ref.kind, "source");
  assert.equal((await loadFunction(ref))(2), 6);
  const holder = {
    triple(x: number) {
      return x * 3;
    },
  };
  assert.equal((await loadFunction(resolveFunction(holder.triple)))(3), 9);
});

test("a source function that uses a closure explains how to fix it", T, async () => {
  const hidden = 10;
  const fn = await loadFunction(resolveFunction(function usesClosure(x: number) {
    return x + hidden;
  }));
  assert.throws(() => fn(1), (error: Error) => {
    assert.ok(error instanceof ReferenceError);
    assert.match(error.message, /hidden is not defined/);
    assert.match(error.message, /usesClosure was sent to the worker as source text/);
    assert.match(error.message, /Export it from a module/);
    return true;
  });
});

test("a Process target sent as source text carries its module, so the worker's error can name it", T, async () => {
  const ref = withOrigin(resolveFunction(timesFactor));
  assert.equal(ref.kind, "source");
  assert.equal((ref as { origin?: string }).origin, new URL("../fixtures/unregistered.ts", import.meta.url).href);
  const fn = await loadFunction(ref);
  assert.throws(() => fn(1), /factor is not defined.*It is exported by file:.*unregistered\.ts, which is not a known module/);
});

test("bad functions are refused with a clear message", T, () => {
  assert.throws(() => resolveFunction(42, [], "`target`"), /Expected `target` to be a function, got number/);
  assert.throws(() => resolveFunction(Array.prototype.map), /built-in function map/);
});

test("the queue codec keeps shared references and cycles, below and above the objects it tracks in a list", T, async () => {
  const { encodeOutgoing, decodeFrame } = await import("../../src/wire/message-codec.ts");
  const roundTrip = (value: unknown): unknown => {
    const encoded = encodeOutgoing(value, "a test value");
    const bytes = Buffer.from(encoded.bytes.subarray(0, encoded.length));
    return decodeFrame(encoded.kind, bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, encoded.length);
  };
  const shared = { a: 1 };
  const few = roundTrip([shared, shared]) as object[];
  assert.equal(few[0], few[1]);
  const many = Array.from({ length: 40 }, (_, i) => ({ i }));
  const manyShared = roundTrip([...many, many[3]]) as { i: number }[];
  assert.equal(manyShared.length, 41);
  assert.equal(manyShared[40], manyShared[3]);
  const cycle: unknown[] = [];
  cycle.push(cycle);
  const decodedCycle = roundTrip(cycle) as unknown[];
  assert.equal(decodedCycle[0], decodedCycle);
  // Distinct objects, many of them, stay distinct and equal in content; the next encode starts afresh.
  assert.deepEqual(roundTrip(many), many);
  assert.deepEqual(roundTrip([shared]), [{ a: 1 }]);
});

test("a task frame encoded from its fields decodes as its tuple; big arrays are refused and V8-only values get the tuple", T, async () => {
  const { encodeTaskFrame } = await import("../../src/wire/pool-frames.ts");
  const { decodeFrame, fastOutgoing } = await import("../../src/wire/message-codec.ts");
  const { TOO_BIG } = await import("../../src/wire/fast-codec.ts");
  const decode = (length: unknown): unknown => {
    assert.equal(typeof length, "number");
    const encoded = fastOutgoing(length as number);
    const bytes = Buffer.from(encoded.bytes.subarray(0, encoded.length));
    return decodeFrame(encoded.kind, bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, encoded.length);
  };
  const ref = { kind: "export" as const, module: "file:///tasks.mjs", name: "inc" };
  const items = [[1, "two", { three: 3 }], new Float64Array([4.5])];
  assert.deepEqual(decode(encodeTaskFrame(7, 3, 0, 2, items, true, null, undefined, 1024)), [7, 3, 0, 2, items, 1, null]);
  assert.deepEqual(decode(encodeTaskFrame(8, 3, 1, 2, items, false, 40, ref, 1024)), [8, 3, 1, 2, items, 0, 40, ref]);
  assert.equal(encodeTaskFrame(9, 3, 2, 2, [new Float64Array(1024)], false, null, undefined, 1024), TOO_BIG);
  const map = new Map([[1, 2]]);
  assert.deepEqual(encodeTaskFrame(9, 3, 2, 2, [map], false, null, undefined, 1024), [9, 3, 2, 2, [map], 0, null]);
});
