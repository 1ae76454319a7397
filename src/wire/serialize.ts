/**
 * How values cross a worker boundary.
 *
 * Plain data goes by the structured clone algorithm (postMessage) or by V8's
 * serializer (the byte rings of queues and pipes). Library objects (locks,
 * queues, values...) cannot: a class instance loses its prototype and private
 * fields. Each library class therefore owns a wire form: a method under `kWire`
 * returns `{ type, state }`, and the class registers a reviver for `type` that
 * rebuilds the same shared object from `state` on the other side.
 *
 * `encodeForWire` replaces library objects with placeholders, copying only the
 * containers on the path to one (a message without library objects is returned
 * as is, untouched); `decodeFromWire` puts revived objects back in place.
 */
import { deserialize, serialize } from "../util/lean-builtins.ts";
import { kWire } from "../symbols.ts";
import { openShm, osSharedName } from "../memory/shm.ts";
import { native } from "../util/native.ts";
import { TYPED_ARRAY_CLASSES } from "../util/typed-arrays.ts";

export interface WireForm {
  type: string;
  state: unknown;
}

export interface Wireable {
  [kWire](): WireForm;
}

/** The key encodeForWire puts on a library object's placeholder. */
export const PLACEHOLDER = "__multiproc_wire__";
const revivers = new Map<string, (state: unknown) => unknown>();

/** Registers how to rebuild a library object of `type` from its wire state. */
export function registerWireType(type: string, revive: (state: unknown) => unknown): void {
  revivers.set(type, revive);
}

export function isWireable(value: unknown): value is Wireable {
  return typeof value === "object" && value !== null && typeof (value as Partial<Wireable>)[kWire] === "function";
}

const SHARED_VIEW = "SharedView";
const OS_BUFFER = "OsSharedArrayBuffer";
registerWireType(OS_BUFFER, (name) => openShm(name as string));
type TypedArrayConstructor = new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;
const viewConstructors = Object.fromEntries(
  [...TYPED_ARRAY_CLASSES, DataView].map((Class) => [Class.name, Class]),
) as unknown as Record<string, TypedArrayConstructor>;

function isSharedView(value: object): value is ArrayBufferView {
  return ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer;
}

function sharedViewState(view: ArrayBufferView) {
  const kind = view.constructor.name;
  const length = view instanceof DataView ? view.byteLength : (view as unknown as { length: number }).length;
  return { kind, buffer: view.buffer as SharedArrayBuffer, byteOffset: view.byteOffset, length };
}

registerWireType(SHARED_VIEW, (state) => {
  const { kind, buffer, byteOffset, length } = state as ReturnType<typeof sharedViewState>;
  const View = viewConstructors[kind] ?? Uint8Array;
  return new View(buffer, byteOffset, length);
});

/** Values whose contents never hold library objects, so the walk skips them. */
function isOpaque(value: object): boolean {
  return (
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof SharedArrayBuffer ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Error
  );
}

/**
 * Returns `value` with every library object replaced by its placeholder, and
 * whether any was found. Containers are copied only where something changed.
 */
export function encodeForWire(
  value: unknown,
  shareBuffer?: (buffer: SharedArrayBuffer) => WireForm,
): { value: unknown; wired: boolean } {
  const inProgress = new Set<object>();
  const done = new Map<object, unknown>();
  let wired = false;

  const visit = (current: unknown): unknown => {
    if (typeof current !== "object" || current === null) return current;
    if (isWireable(current)) {
      wired = true;
      const form = current[kWire]();
      return { [PLACEHOLDER]: form.type, state: visit(form.state) };
    }
    if (isSharedView(current)) {
      // A typed array over shared memory stays shared (V8's serializer would copy its bytes).
      wired = true;
      return { [PLACEHOLDER]: SHARED_VIEW, state: visit(sharedViewState(current)) };
    }
    if (current instanceof SharedArrayBuffer) {
      // OS shared memory travels by name, over any transport: every process can open it.
      const name = osSharedName(current);
      if (name !== undefined) {
        wired = true;
        return { [PLACEHOLDER]: OS_BUFFER, state: name };
      }
      if (shareBuffer) {
        wired = true;
        const form = shareBuffer(current);
        return { [PLACEHOLDER]: form.type, state: form.state };
      }
    }
    if (isOpaque(current) || inProgress.has(current)) return current;
    const cached = done.get(current);
    if (cached !== undefined) return cached;
    inProgress.add(current);
    let result: unknown = current;
    if (Array.isArray(current)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < current.length; i++) {
        const item = current[i];
        if (typeof item !== "object" || item === null) continue;
        const replaced = visit(item);
        if (replaced !== item) (copy ??= current.slice())[i] = replaced;
      }
      if (copy) result = copy;
    } else if (current instanceof Map) {
      let changed = false;
      const entries: [unknown, unknown][] = [];
      for (const [key, item] of current) {
        const newKey = visit(key);
        const newItem = visit(item);
        changed ||= newKey !== key || newItem !== item;
        entries.push([newKey, newItem]);
      }
      if (changed) result = new Map(entries);
    } else if (current instanceof Set) {
      let changed = false;
      const items: unknown[] = [];
      for (const item of current) {
        const replaced = visit(item);
        changed ||= replaced !== item;
        items.push(replaced);
      }
      if (changed) result = new Set(items);
    } else {
      let copy: Record<string, unknown> | undefined;
      const record = current as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        if (typeof item !== "object" || item === null) continue;
        const replaced = visit(item);
        if (replaced !== item) (copy ??= { ...record })[key] = replaced;
      }
      if (copy) result = copy;
    }
    inProgress.delete(current);
    done.set(current, result);
    return result;
  };

  const encoded = visit(value);
  return { value: encoded, wired };
}

/** Work that revived objects still do (a Barrier loading its action), until it settles. */
const pendingRevivals = new Set<Promise<unknown>>();

/**
 * Registers the unfinished part of a revival. A worker awaits these before it
 * hands received arguments to a target or task (see revivalsSettled), so the
 * objects it gets are ready for their synchronous calls too.
 */
export function revivalPending(work: Promise<unknown>): void {
  pendingRevivals.add(work);
  const done = (): void => void pendingRevivals.delete(work);
  work.then(done, done);
}

/** Settles once every revival registered so far has finished; undefined when none is pending. */
export function revivalsSettled(): Promise<void> | undefined {
  if (pendingRevivals.size === 0) return undefined;
  return Promise.allSettled([...pendingRevivals]).then(() => undefined);
}

/** Rebuilds library objects from placeholders, in place (the value is a fresh copy). */
export function decodeFromWire(value: unknown): unknown {
  const seen = new Set<object>();
  const visit = (current: unknown): unknown => {
    if (typeof current !== "object" || current === null || isOpaque(current)) return current;
    const type = (current as Record<string, unknown>)[PLACEHOLDER];
    if (typeof type === "string") {
      const revive = revivers.get(type);
      if (!revive) {
        throw new TypeError(
          `Cannot rebuild a multiproc ${type} received from another worker: its class is not loaded here. ` +
            "Import multiproc (the whole package) in the receiving module.",
        );
      }
      return revive(visit((current as { state: unknown }).state));
    }
    if (seen.has(current)) return current;
    seen.add(current);
    if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) current[i] = visit(current[i]);
    } else if (current instanceof Map) {
      const entries = [...current].map(([k, v]) => [visit(k), visit(v)] as const);
      current.clear();
      for (const [k, v] of entries) current.set(k, v);
    } else if (current instanceof Set) {
      const items = [...current].map(visit);
      current.clear();
      for (const item of items) current.add(item);
    } else {
      const record = current as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = visit(record[key]);
    }
    return current;
  };
  return visit(value);
}

/**
 * Byte transports (queue and pipe rings) cannot carry a SharedArrayBuffer, and
 * V8's deserializer in Node 20 cannot take one back out of band. So the walk
 * replaces each shared buffer with a ticket: the native addon keeps the memory
 * alive under it, and any thread of this process takes it back (see
 * native/multiproc.cc). Each ticket is good once.
 */
const STASHED_BUFFER = "StashedSharedArrayBuffer";
registerWireType(STASHED_BUFFER, (ticket) => native().take(ticket as number));

/** A message ready for a byte transport. */
export interface EncodedMessage {
  payload: Buffer;
  /** Native-stash tickets of the SharedArrayBuffers in the payload (taken when decoded). */
  tickets: number[];
  /** Whether the payload holds placeholders to revive. */
  wired: boolean;
}

/**
 * Serializes `value` once, for queues and pipes. Throws V8's DataCloneError; see uncloneableError.
 * `owner`: the ring the message goes to (MessageRing.owner); its buffers' tickets are then
 * dropped with the ring if the message is never read. null: a ring in OS shared memory.
 */
export function encodeMessage(value: unknown, owner?: SharedArrayBuffer | null): EncodedMessage {
  const tickets: number[] = [];
  const ticketOf = new Map<SharedArrayBuffer, number>();
  try {
    // A ring in OS shared memory (owner null) reaches other processes: no stash tickets,
    // so V8's serializer refuses a buffer of this process, and the caller says why.
    const { value: encoded, wired } = encodeForWire(value, owner === null ? undefined : (buffer) => {
      let ticket = ticketOf.get(buffer);
      if (ticket === undefined) {
        ticket = native().stash(buffer, owner);
        ticketOf.set(buffer, ticket);
        tickets.push(ticket);
      } else {
        // The same buffer twice in one message: each placeholder takes its own ticket.
        ticket = native().stash(buffer, owner);
        tickets.push(ticket);
      }
      return { type: STASHED_BUFFER, state: ticket };
    });
    return { payload: serialize(encoded), tickets, wired };
  } catch (error) {
    discardMessage(tickets);
    throw error;
  }
}

/** Reverses encodeMessage. */
export function decodeMessage(payload: Uint8Array, wired: boolean): unknown {
  const value = deserialize(payload);
  return wired ? decodeFromWire(value) : value;
}

/** Drops the stashed buffers of a message that will never be decoded. */
export function discardMessage(tickets: readonly number[]): void {
  for (const ticket of tickets) native().take(ticket);
}
