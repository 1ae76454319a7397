/**
 * Every typed array class, in one fixed order: the fast codec numbers them by their
 * place here on the wire (tag 12), so a class is only ever added at the end.
 */
export const TYPED_ARRAY_CLASSES = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;
