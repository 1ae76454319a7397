/**
 * The manager wire format: plain data only.
 *
 * A message is V8's serializer output (structured-clone data: objects, arrays,
 * Map, Set, Date, RegExp, typed arrays, bigint...) behind one flag byte. V8's
 * deserializer builds data and nothing else: no prototype is looked up, no
 * constructor or getter runs, `__proto__` arrives as a plain own key. Proxies
 * are the one kind of reference that crosses: each becomes a placeholder
 * `{ __multiproc_proxy__: 1, address, id, typeid }`, which the receiver turns into
 * a ProxyRef (in the server: inert data it stores and hands back) or a proxy (in a
 * client). Nothing else is revived: this decoder never opens shared memory, loads
 * a module or calls a function by name.
 */
import v8 from "node:v8";
import { fastDecode, fastEncode, fastScratch } from "../wire/fast-codec.ts";
import { isWireable } from "../wire/serialize.ts";
import type { Address } from "./address.ts";
import { isAddress } from "./address.ts";

const PROXY_KEY = "__multiproc_proxy__";
const FLAG_REFS = 1;
/** The body is the project's compact codec (wire/fast-codec.ts), not V8's: plain objects, arrays, strings, numbers. */
const FLAG_FAST = 2;

/** A reference to one object of a manager: where it is served and its id there. */
export class ProxyRef {
  constructor(
    /** null: the manager the message came from (a server writes its own objects this way). */
    readonly address: Address | null,
    readonly id: string,
    readonly typeid: string,
  ) {}
}

/** What a message's walk calls on each object: a ProxyRef for proxies, undefined for data. */
export type RefOf = (value: object) => ProxyRef | undefined;

function isPlainContainer(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value) || value instanceof Map || value instanceof Set;
}

/** Serializes a message; throws a TypeError naming what cannot travel to a manager. */
export function encodeManagerMessage(value: unknown, refOf: RefOf): Buffer {
  let refs = false;
  const visit = (current: unknown): unknown => {
    if (typeof current !== "object" || current === null) return current;
    const ref = refOf(current);
    if (ref) {
      refs = true;
      return { [PROXY_KEY]: 1, address: ref.address, id: ref.id, typeid: ref.typeid };
    }
    if (isWireable(current)) {
      const type = (current as { constructor?: { name?: string } }).constructor?.name ?? "object";
      throw new TypeError(
        `Cannot send a multiproc ${type} to a manager: it lives in this machine's shared memory. ` +
          `Make it in the manager instead (manager.${type}(...)), and pass that proxy around.`,
      );
    }
    if (!isPlainContainer(current)) return current;
    if (Array.isArray(current)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < current.length; i++) {
        const item = current[i];
        const replaced = visit(item);
        if (replaced !== item) (copy ??= current.slice())[i] = replaced;
      }
      return copy ?? current;
    }
    if (current instanceof Map) {
      let changed = false;
      const entries = [...current].map(([k, v]) => {
        const nk = visit(k);
        const nv = visit(v);
        changed ||= nk !== k || nv !== v;
        return [nk, nv] as const;
      });
      return changed ? new Map(entries) : current;
    }
    if (current instanceof Set) {
      const before = [...current];
      const items = before.map(visit);
      return items.some((item, i) => item !== before[i]) ? new Set(items) : current;
    }
    let copy: Record<string, unknown> | undefined;
    const record = current as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      const replaced = visit(item);
      if (replaced !== item) {
        copy ??= Object.defineProperties({}, Object.getOwnPropertyDescriptors(record)) as Record<string, unknown>;
        Object.defineProperty(copy, key, { value: replaced, enumerable: true, writable: true, configurable: true });
      }
    }
    return copy ?? current;
  };
  const encoded = visit(value);
  const fast = fastEncode(encoded);
  if (fast >= 0) {
    const body = Buffer.allocUnsafe(fast + 1);
    body[0] = FLAG_FAST | (refs ? FLAG_REFS : 0);
    fastScratch().copy(body, 1, 0, fast);
    return body;
  }
  let payload: Buffer;
  try {
    payload = v8.serialize(encoded);
  } catch (error) {
    throw new TypeError(
      `Cannot send this value to a manager: ${(error as Error).message}. ` +
        "Manager messages carry plain data (what structuredClone copies) and manager proxies.",
    );
  }
  const body = Buffer.allocUnsafe(payload.length + 1);
  body[0] = refs ? FLAG_REFS : 0;
  payload.copy(body, 1);
  return body;
}

function placeholderRef(value: Record<string, unknown>): ProxyRef | undefined {
  if (value[PROXY_KEY] !== 1) return undefined;
  const { address, id, typeid } = value;
  if ((address !== null && !isAddress(address)) || typeof id !== "string" || typeof typeid !== "string") return undefined;
  const copy = address === null || typeof address === "string" ? address : { host: address.host, port: address.port };
  return new ProxyRef(copy, id, typeid);
}

/**
 * Deserializes a message. `revive` turns each proxy placeholder into what the
 * receiver keeps (ProxyRef itself in the server). Throws on malformed bytes.
 */
export function decodeManagerMessage(body: Buffer, revive: (ref: ProxyRef) => unknown): unknown {
  if (body.length < 2) throw new TypeError("empty manager message");
  const payload = body.subarray(1);
  const value: unknown =
    (body[0]! & FLAG_FAST) !== 0
      ? fastDecode(payload, new DataView(payload.buffer, payload.byteOffset, payload.length), 0)
      : v8.deserialize(payload);
  if ((body[0]! & FLAG_REFS) === 0) return value;
  const seen = new Set<object>();
  const visit = (current: unknown): unknown => {
    if (typeof current !== "object" || current === null || seen.has(current)) return current;
    if (!isPlainContainer(current)) return current;
    seen.add(current);
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) current[i] = visit(current[i]);
      return current;
    }
    if (current instanceof Map) {
      const entries = [...current].map(([k, v]) => [visit(k), visit(v)] as const);
      current.clear();
      for (const [k, v] of entries) current.set(k, v);
      return current;
    }
    if (current instanceof Set) {
      const items = [...current].map(visit);
      current.clear();
      for (const item of items) current.add(item);
      return current;
    }
    const record = current as Record<string, unknown>;
    const ref = placeholderRef(record);
    if (ref) return revive(ref);
    for (const key of Object.keys(record)) {
      const replaced = visit(record[key]);
      if (replaced !== record[key]) Object.defineProperty(record, key, { value: replaced, enumerable: true, writable: true, configurable: true });
    }
    return current;
  };
  return visit(value);
}
