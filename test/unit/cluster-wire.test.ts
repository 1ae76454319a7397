/** What a cluster task entry carries: values (codec.ts) and the call (task-ref.ts), read back exactly. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeValue, encodeValue } from "../../src/cluster/codec.ts";
import { decodeTaskCall, encodeTaskCall } from "../../src/cluster/task-ref.ts";

const T = { timeout: 10_000 };

test("lists of numbers round-trip exactly, short and long, -0 and NaN included", T, () => {
  for (const length of [0, 1, 2, 31, 32, 33, 10_000]) {
    const numbers = Array.from({ length }, (_, i) => (i % 5 === 0 ? -0 : i % 7 === 0 ? Number.NaN : i * 1.5 - 1e300 * (i % 3)));
    const back = decodeValue(encodeValue(numbers, "test")) as number[];
    assert.equal(back.length, length);
    for (let i = 0; i < length; i++) assert.ok(Object.is(back[i], numbers[i]), `item ${i} of ${length}: ${back[i]} is not ${numbers[i]}`);
  }
});

test("a list of numbers read from any offset of a larger buffer (a Redis reply) decodes the same", T, () => {
  const numbers = Array.from({ length: 100 }, (_, i) => i / 3);
  const bytes = encodeValue(numbers, "test");
  for (const offset of [1, 3, 8]) {
    const reply = Buffer.alloc(bytes.length + offset);
    bytes.copy(reply, offset);
    assert.deepEqual(decodeValue(reply.subarray(offset)), numbers);
  }
});

test("lists of equally long lists of numbers (apply's [[x]], starmap's tuples) round-trip", T, () => {
  for (const rows of [[[1]], [[-0, Number.NaN]], Array.from({ length: 50 }, (_, i) => [i, i / 7, -i])]) {
    const back = decodeValue(encodeValue(rows, "test")) as number[][];
    assert.equal(back.length, rows.length);
    rows.forEach((row, r) => row.forEach((x, i) => assert.ok(Object.is(back[r]![i], x), `row ${r}, item ${i}`)));
  }
});

test("anything else keeps V8's serialization", T, () => {
  const values: unknown[] = [[1, "2"], [1, , 3], [1n], { a: [1, 2] }, new Map([[1, 2]]), new Float64Array([1, 2]), "text", 5, null, [[1], [2, 3]], [[]], [[1], "2"]];
  for (const value of values) {
    const bytes = encodeValue(value, "test");
    assert.equal(bytes[0], 0xff, `${String(value)} is V8-serialized`);
    assert.deepEqual(decodeValue(bytes), value);
  }
});

test("the call of a task entry round-trips, and anything else reads as no call", T, () => {
  const call = { module: "tasks.ts", name: "square", hash: "abc123", star: true, timeout: 250 };
  assert.deepEqual(decodeTaskCall(encodeTaskCall(call)), call);
  assert.deepEqual(decodeTaskCall(encodeTaskCall({ ...call, star: false, timeout: undefined })), { ...call, star: false, timeout: undefined });
  for (const field of ["", "{", "[]", '["a","b","c",1]', '["a","b","c",2,null]', '["a",1,"c",0,null]', '["a","b","c",0,-5]', '{"module":"a"}']) {
    assert.equal(decodeTaskCall(field), null, field);
  }
});
