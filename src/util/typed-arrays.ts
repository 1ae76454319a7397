/**
 * Every typed array class, in one fixed order: the fast codec numbers them by their
 * place here on the wire (tag 12), so a class is only ever added at the end.
 */
export const TYPED_ARRAY_CLASSES = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;

/**
 * A Uint8Array over fresh memory of exactly `length` bytes, not zero-filled as
 * `new Uint8Array(length)` is: for a caller that writes every byte before anyone reads it.
 */
export function uninitializedBytes(length: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
}
