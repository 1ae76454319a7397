/**
 * A manager's server (CPython's `managers.Server`): it listens on a Unix socket or
 * TCP, checks every client's authkey both ways, then serves calls on the objects
 * it holds. One event loop serves every client: a blocking call (lock.acquire,
 * queue.get) is a reply sent later, so clients never wait on each other.
 *
 * What a client can make the server do is closed: create an object of a
 * registered typeid (a Map lookup), call a public method of an object it names
 * (a name from the class's own method list: no `_` names, nothing of
 * Object.prototype), or shut the server down. Frames are size-limited before
 * their body is read; a frame that breaks the protocol closes its connection and
 * nothing else.
 */
import net, { type Server as NetServer, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { getLogger } from "../util/logger.ts";
import { checkAddress, describeAddress, listenOptions, type Address } from "./address.ts";
import { callAs, Caller } from "./caller.ts";
import { decodeManagerMessage, encodeManagerMessage, ProxyRef } from "./codec.ts";
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameReader, HANDSHAKE_FRAME_BYTES, writeFrame } from "./frames.ts";
import { answerChallenge, deliverChallenge } from "./handshake.ts";
import { asRequest, CALL, CREATE, FAILED, failureOf, HELLO, OK, SHUTDOWN, UPGRADE, type Request } from "./protocol.ts";
import { LaneServer, type Lane } from "./lanes.ts";
import { exposedMethods } from "./exposed.ts";


/** How long a new connection has to pass the handshake. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Makes the referent of a typeid from the client's arguments (a class is constructed). */
export type Factory = (...args: unknown[]) => unknown;

export interface ServerOptions {
  address: Address;
  authkey: Uint8Array;
  registry: ReadonlyMap<string, Factory>;
  maxFrameBytes?: number;
}

interface Held {
  referent: object;
  typeid: string;
  exposed: ReadonlySet<string>;
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

function refOf(value: object): ProxyRef | undefined {
  return value instanceof ProxyRef ? value : undefined;
}

/** An error whose name tells the client what kind of mistake it made (AttributeError, as Python's). */
function named(name: string, message: string): Error {
  const error = new Error(message);
  Object.defineProperty(error, "name", { value: name });
  return error;
}

export class Server {
  readonly #authkey: Buffer;
  readonly #registry: ReadonlyMap<string, Factory>;
  readonly #maxFrameBytes: number;
  readonly #requested: Address;
  #listener: NetServer | null = null;
  #address: Address | null = null;
  readonly #objects = new Map<string, Held>();
  /** Callers by token, while their connection is open. */
  readonly #callers = new Map<string, Caller>();
  readonly #sockets = new Set<Socket>();
  /** Calls that named an object its (live) creator has not created yet. */
  readonly #awaitingCreation = new Map<string, (() => void)[]>();
  /** Ids whose creation failed, by creator token (dropped with the creator's connection). */
  readonly #failedCreations = new Map<string, Set<string>>();
  #nextToken = 0;
  readonly #lanes = new LaneServer();
  #stopped: Promise<void> | null = null;
  #resolveStopped: () => void = () => {};

  constructor(options: ServerOptions) {
    this.#requested = checkAddress(options.address);
    this.#authkey = Buffer.from(options.authkey);
    this.#registry = options.registry;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** The address served (the real port after asking for port 0); null before listen(). */
  get address(): Address | null {
    return this.#address;
  }

  /** Starts listening; resolves with the address served. */
  listen(): Promise<Address> {
    if (this.#address) return Promise.resolve(this.#address);
    this.#stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    return new Promise((resolve, reject) => {
      const listener = net.createServer((socket) => this.#accept(socket));
      listener.once("error", reject);
      listener.listen(listenOptions(this.#requested), () => {
        listener.off("error", reject);
        listener.on("error", (error) => getLogger().error(`manager server: ${error.message}`));
        const bound = listener.address();
        this.#address =
          typeof this.#requested === "string" || bound === null || typeof bound === "string"
            ? this.#requested
            : { host: this.#requested.host, port: bound.port };
        this.#listener = listener;
        resolve(this.#address);
      });
    });
  }

  /** Python's serve_forever(): listens, and resolves once a client (or stop()) shuts the server down. */
  async serveForever(): Promise<void> {
    await this.listen();
    await this.#stopped;
  }

  /** Stops listening, closes every connection (releasing what its client held) and drops every object. */
  stop(): Promise<void> {
    const listener = this.#listener;
    this.#listener = null;
    if (listener) listener.close();
    for (const socket of this.#sockets) socket.destroy();
    this.#objects.clear();
    this.#lanes.stop();
    this.#resolveStopped();
    return this.#stopped ?? Promise.resolve();
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setNoDelay?.(true);
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      this.#sockets.delete(socket);
    });
    socket.on("error", () => {}); // a client that vanishes mid-write closes its connection only
    const reader = new FrameReader(socket, HANDSHAKE_FRAME_BYTES);
    const handshake = async (): Promise<void> => {
      await deliverChallenge(socket, reader, this.#authkey);
      await answerChallenge(socket, reader, this.#authkey);
    };
    handshake().then(
      () => {
        clearTimeout(timer);
        if (socket.destroyed) return;
        const early = reader.detach();
        reader.decoder.maxFrameBytes = this.#maxFrameBytes;
        this.#serve(socket, reader.decoder, early);
      },
      () => {
        clearTimeout(timer);
        // A wrong key or a broken handshake: this connection ends, the server goes on.
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
    );
  }

  #serve(socket: Socket, decoder: FrameDecoder, early: Buffer[]): void {
    const token = `${(++this.#nextToken).toString(36)}${randomBytes(3).toString("hex")}`;
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : "local client";
    const caller = new Caller(token, peer);
    this.#callers.set(token, caller);
    socket.once("close", () => {
      this.#callers.delete(token);
      this.#failedCreations.delete(token);
      caller.close();
      this.#wakeCreationWaiters(token);
    });
    const reply = (value: unknown): void => {
      if (socket.destroyed) return;
      writeFrame(socket, encodeManagerMessage(value, refOf));
    };
    let lane: Lane | null = null;
    socket.once("close", () => {
      if (lane) this.#lanes.close(lane);
    });
    const decode = (frame: Buffer): Request | undefined => {
      let request: Request | undefined;
      try {
        // A reference to one of this server's own objects is kept without its address: each
        // client that gets it back reaches it by the address it connected to.
        request = asRequest(decodeManagerMessage(frame, (ref) => (this.#objects.has(ref.id) ? new ProxyRef(null, ref.id, ref.typeid) : ref)));
      } catch {
        request = undefined;
      }
      if (!request) socket.destroy(); // malformed: this connection only
      return request;
    };
    const onFrame = (frame: Buffer): void => {
      const request = decode(frame);
      if (!request) return;
      if (request[0] === UPGRADE) {
        if (!lane) lane = this.#openLane(caller, decode, () => socket.destroy());
        reply([request[1], OK, lane.channel.state]);
        return;
      }
      this.#handle(request, caller, reply);
    };
    reply([HELLO, token]);
    for (const frame of early) onFrame(frame);
    socket.on("data", (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy(); // oversized
        return;
      }
      for (const frame of frames) {
        if (socket.destroyed) return;
        onFrame(frame);
      }
    });
  }

  /** Opens the shared-memory lane of a client on this machine (see lanes.ts). */
  #openLane(caller: Caller, decode: (frame: Buffer) => Request | undefined, drop: () => void): Lane {
    return this.#lanes.open((channel) => {
      const reply = (value: unknown): void => channel.send(encodeManagerMessage(value, refOf));
      return {
        onFrame: (frame) => {
          const request = decode(frame);
          if (request && request[0] !== UPGRADE) this.#handle(request, caller, reply);
        },
        drop,
      };
    });
  }

  #handle(request: Request, caller: Caller, reply: (value: unknown) => void): void {
    const [kind, id] = request;
    let outcome: unknown;
    try {
      if (kind === CALL) outcome = this.#call(request, caller);
      else if (kind === CREATE) outcome = this.#create(request, caller);
      else if (kind === SHUTDOWN) outcome = this.#shutdown(caller);
      else throw named("ValueError", "an upgrade can only be asked for over the socket");
    } catch (error) {
      reply([id, FAILED, failureOf(error)]);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (value) => safeReply(reply, id, value),
        (error: unknown) => reply([id, FAILED, failureOf(error)]),
      );
    } else {
      safeReply(reply, id, outcome);
    }
  }

  #call([, , objectId, method, args]: Request, caller: Caller): unknown {
    const held = this.#objects.get(objectId);
    if (!held) return this.#afterCreation(objectId, () => this.#call([CALL, 0, objectId, method, args], caller));
    if (!held.exposed.has(method)) {
      throw named("AttributeError", `'${held.typeid}' object has no public method '${method}' (only its public methods can be called through a proxy)`);
    }
    const referent = held.referent as Record<string, (...a: unknown[]) => unknown>;
    return callAs(caller, () => referent[method]!(...args));
  }

  #create([, , objectId, typeid, args]: Request, caller: Caller): unknown {
    const factory = this.#registry.get(typeid);
    if (!factory) throw named("KeyError", `no type '${typeid}' is registered with this manager`);
    if (!objectId.startsWith(`${caller.token}.`) || this.#objects.has(objectId)) {
      throw named("ValueError", `invalid id for a new object: ${objectId}`);
    }
    const settle = (referent: unknown): void => {
      if (typeof referent !== "object" || referent === null) {
        throw named("TypeError", `the factory of '${typeid}' returned ${referent === null ? "null" : typeof referent}, not an object`);
      }
      this.#objects.set(objectId, { referent, typeid, exposed: exposedMethods(referent) });
      this.#wakeCreationWaiters(objectId);
    };
    const failed = (error: unknown): never => {
      let ids = this.#failedCreations.get(caller.token);
      if (!ids) this.#failedCreations.set(caller.token, (ids = new Set()));
      ids.add(objectId);
      this.#wakeCreationWaiters(objectId);
      throw error;
    };
    let made: unknown;
    try {
      made = callAs(caller, () => (isClass(factory) ? Reflect.construct(factory, args) : factory(...args)));
      if (!(made instanceof Promise)) {
        settle(made);
        return undefined;
      }
    } catch (error) {
      return failed(error);
    }
    return made.then(settle).catch(failed);
  }

  /** A call for an object its creator's request has not made yet (it is still on its way): waits for it. */
  #afterCreation(objectId: string, retry: () => unknown): unknown {
    const token = objectId.slice(0, objectId.lastIndexOf("."));
    if (this.#failedCreations.get(token)?.has(objectId)) {
      throw named("KeyError", `no shared object with id '${objectId}' in this manager (its creation failed)`);
    }
    if (!this.#callers.has(token)) {
      throw named("KeyError", `no shared object with id '${objectId}' in this manager (it was never made, or the manager restarted)`);
    }
    return new Promise((resolve, reject) => {
      const list = this.#awaitingCreation.get(objectId) ?? [];
      list.push(() => {
        if (!this.#objects.has(objectId)) {
          reject(named("KeyError", `no shared object with id '${objectId}' in this manager (its creation failed)`));
          return;
        }
        try {
          const result = retry();
          if (result instanceof Promise) result.then(resolve, reject);
          else resolve(result);
        } catch (error) {
          reject(error);
        }
      });
      this.#awaitingCreation.set(objectId, list);
    });
  }

  #wakeCreationWaiters(idOrToken: string): void {
    for (const [objectId, list] of this.#awaitingCreation) {
      if (objectId !== idOrToken && !objectId.startsWith(`${idOrToken}.`)) continue;
      this.#awaitingCreation.delete(objectId);
      for (const wake of list) wake();
    }
  }

  #shutdown(caller: Caller): undefined {
    getLogger().debug(`manager at ${describeAddress(this.#address ?? this.#requested)}: shutdown asked by ${caller.peer}`);
    // Reply first (this request's answer is written before the sockets close).
    setImmediate(() => void this.stop());
    return undefined;
  }
}

/** Sends a result; a result that cannot be encoded becomes that call's error (never the connection's). */
function safeReply(reply: (value: unknown) => void, id: number, value: unknown): void {
  try {
    reply([id, OK, value]);
  } catch (error) {
    reply([id, FAILED, failureOf(error)]);
  }
}
