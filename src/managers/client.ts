/**
 * A client's connection to one manager: one socket per (address, thread), shared
 * by every proxy of that manager in this thread, with many calls in flight at
 * once (each request carries an id; replies may come back in any order, so a
 * blocked `lock.acquire()` never holds up a `dict.get()`).
 *
 * The socket keeps the event loop alive only while a call is pending, so a
 * program or worker holding proxies still exits when its work is done.
 * When the connection closes (the manager shut down or died), pending calls
 * reject with a ProcessError that says so; after this process called
 * `manager.shutdown()`, every later call rejects at once.
 */
import net, { type Socket } from "node:net";
import { AuthenticationError, EOFError, ManagerClosedError, ProcessError } from "../errors.ts";
import { addressKey, connectOptions, describeAddress, type Address } from "./address.ts";
import { decodeManagerMessage, encodeManagerMessage, type ProxyRef } from "./codec.ts";
import { DEFAULT_MAX_FRAME_BYTES, FrameReader, HANDSHAKE_FRAME_BYTES, writeFrame } from "./frames.ts";
import { answerChallenge, deliverChallenge } from "./handshake.ts";
import { asReply, CALL, CREATE, FAILED, HELLO, SHUTDOWN, UPGRADE, type RemoteFailure, type RequestKind } from "./protocol.ts";
import { ClientChannel, CLOSED, isLocalAddress, type ChannelState } from "./shm-channel.ts";
import { remoteErrorOf } from "./remote-error.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** What turns a reference in a reply into a proxy (set by proxies.ts, which depends on this module). */
type Reviver = (ref: ProxyRef, authkey: Buffer, from: Address) => unknown;
let reviveRef: Reviver = (ref) => ref;
export function setProxyReviver(revive: Reviver): void {
  reviveRef = revive;
}
let refOfProxy: (value: object) => ProxyRef | undefined = () => undefined;
export function setProxyRefOf(refOf: (value: object) => ProxyRef | undefined): void {
  refOfProxy = refOf;
}

const clients = new Map<string, ManagerClient>();
/** Managers this process shut down: calls to them fail at once. */
const shutDown = new Set<string>();

function closedError(address: Address, detail: string): ManagerClosedError {
  return new ManagerClosedError(`The manager at ${describeAddress(address)} ${detail}`);
}

export class ManagerClient {
  readonly address: Address;
  readonly authkey: Buffer;
  /** addressKey(address), computed once: every request checks it against the shut-down set. */
  readonly #key: string;
  #socket: Socket | null = null;
  #connecting: Promise<void> | null = null;
  #token: string | null = null;
  #nextRequest = 0;
  #nextObject = 0;
  readonly #pending = new Map<number, Pending>();
  /** Requests made while connecting, sent in order once connected. */
  #queued: Buffer[] = [];
  /** The shared-memory lane to a manager on this machine (see shm-channel.ts); null: the socket only. */
  #channel: ClientChannel | null = null;
  #pumping = false;

  /** This thread's connection to `address` (made on first use). */
  static for(address: Address, authkey: Buffer): ManagerClient {
    const key = `${addressKey(address)}|${authkey.toString("hex")}`;
    let client = clients.get(key);
    if (!client) {
      client = new ManagerClient(address, authkey);
      clients.set(key, client);
    }
    return client;
  }

  /** Marks a manager as shut down by this process: its proxies' calls reject at once. */
  static markShutDown(address: Address): void {
    const key = addressKey(address);
    shutDown.add(key);
    for (const client of clients.values()) {
      if (client.#key === key) client.#close(closedError(address, "was shut down"));
    }
  }

  private constructor(address: Address, authkey: Buffer) {
    this.address = address;
    this.authkey = authkey;
    this.#key = addressKey(address);
  }

  /** Connects and passes the handshake (once; later calls share it). */
  connect(): Promise<void> {
    if (this.#socket && this.#token) return Promise.resolve();
    return (this.#connecting ??= this.#open().finally(() => (this.#connecting = null)));
  }

  /** A new object id, for a proxy made here before its CREATE reaches the server. Needs a connection. */
  newObjectId(): string {
    if (!this.#token) {
      throw new ProcessError(`Not connected to the manager at ${describeAddress(this.address)}: await manager.start() or manager.connect() first`);
    }
    return `${this.#token}.${(++this.#nextObject).toString(36)}`;
  }

  call(target: string, method: string, args: unknown[]): Promise<unknown> {
    return this.#request(CALL, target, method, args);
  }

  /**
   * Sends the request that makes object `id`. Throws at once (a TypeError) when the
   * arguments cannot be sent: the object would never exist, and calls on its proxy
   * would wait for it.
   */
  create(id: string, typeid: string, args: unknown[]): Promise<unknown> {
    return this.#request(CREATE, id, typeid, args, true);
  }

  shutdown(): Promise<unknown> {
    return this.#request(SHUTDOWN, "", "", []);
  }

  #request(kind: RequestKind, target: string, name: string, args: unknown[], throwEncodingErrors = false): Promise<unknown> {
    if (shutDown.has(this.#key)) return Promise.reject(closedError(this.address, "was shut down"));
    let frame: Buffer;
    const id = ++this.#nextRequest;
    try {
      frame = encodeManagerMessage([kind, id, target, name, args], refOfProxy);
    } catch (error) {
      if (throwEncodingErrors) throw error;
      return Promise.reject(error);
    }
    const promise = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    const channel = this.#channel;
    if (channel) {
      channel.send(frame);
      // The one call in flight: look for its reply for a moment before sleeping (shm-channel.ts).
      if (this.#pending.size === 1) this.#takeReplies(channel.look());
      if (this.#pending.size > 0) this.#pump(channel);
      return promise;
    }
    if (this.#pending.size === 1) this.#socket?.ref();
    if (this.#socket && this.#token) writeFrame(this.#socket, frame);
    else {
      this.#queued.push(frame);
      this.connect().catch((error: unknown) => this.#close(error));
    }
    return promise;
  }

  async #open(): Promise<void> {
    const socket = net.connect(connectOptions(this.address));
    socket.setNoDelay?.(true);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          closedError(
            this.address,
            `cannot be reached (${error.code ?? error.message}): it has shut down, or it is not running yet.`,
          ),
        );
      });
    });
    const reader = new FrameReader(socket, HANDSHAKE_FRAME_BYTES);
    try {
      await answerChallenge(socket, reader, this.authkey);
      await deliverChallenge(socket, reader, this.authkey);
      reader.decoder.maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
      const hello = decodeManagerMessage(await reader.next(), (ref) => ref) as unknown[];
      if (!Array.isArray(hello) || hello[0] !== HELLO || typeof hello[1] !== "string") throw new ProcessError("the manager sent no greeting");
      this.#token = hello[1];
    } catch (error) {
      socket.destroy();
      if (error instanceof AuthenticationError || error instanceof ManagerClosedError) throw error;
      // A server that dies while it greets us: say so, never a bare ECONNRESET.
      throw closedError(this.address, `closed the connection during the handshake (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): it shut down or died`);
    }
    const decoder = reader.decoder;
    const early = reader.detach();
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        socket.destroy(error as Error);
        return;
      }
      for (const frame of frames) this.#onFrame(frame);
    });
    socket.on("error", () => {});
    socket.once("close", () => {
      if (this.#socket !== socket) return;
      // Replies the server wrote to the lane before it closed still count (a shutdown's own answer).
      if (this.#channel) this.#takeReplies(this.#channel.take());
      this.#close(closedError(this.address, "closed the connection before answering (it shut down or died)"));
    });
    for (const frame of early) this.#onFrame(frame);
    if (isLocalAddress(this.address)) await this.#upgrade(socket);
    if (this.#pending.size === 0 || this.#channel) socket.unref();
    const queued = this.#queued;
    this.#queued = [];
    for (const frame of queued) {
      if (this.#channel) this.#channel.send(frame);
      else writeFrame(socket, frame);
    }
    if (this.#channel && this.#pending.size > 0) this.#pump(this.#channel);
  }

  /** Asks a manager on this machine for a shared-memory lane; the socket alone serves if it cannot. */
  async #upgrade(socket: Socket): Promise<void> {
    const id = ++this.#nextRequest;
    const state = await new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      writeFrame(socket, encodeManagerMessage([UPGRADE, id, "", "", []], refOfProxy));
    }).catch(() => null);
    if (!state || this.#socket !== socket) return;
    try {
      this.#channel = new ClientChannel(state as ChannelState);
    } catch {
      this.#channel = null;
    }
  }

  /** Handles the replies waiting on the lane, starting with `first`; a lane the server closed closes the connection. */
  #takeReplies(first: Buffer | symbol): void {
    const channel = this.#channel;
    let frame = first;
    for (; channel && typeof frame !== "symbol"; frame = channel.take()) this.#onFrame(frame);
    if (frame === CLOSED && this.#channel === channel) {
      this.#close(closedError(this.address, "closed the connection before answering (it shut down or died)"));
    }
  }

  /** Reads the lane while calls are pending (its wait keeps the event loop alive exactly then). */
  #pump(channel: ClientChannel): void {
    if (this.#pumping) return;
    this.#pumping = true;
    void (async () => {
      try {
        while (this.#pending.size > 0 && this.#channel === channel) {
          this.#takeReplies(channel.take());
          if (this.#pending.size === 0 || this.#channel !== channel) break;
          await channel.readable();
        }
      } finally {
        this.#pumping = false;
      }
    })();
  }

  #onFrame(frame: Buffer): void {
    let reply;
    try {
      reply = asReply(decodeManagerMessage(frame, (ref) => reviveRef(ref, this.authkey, this.address)));
    } catch (error) {
      this.#socket?.destroy();
      this.#close(new EOFError(`a malformed reply from the manager at ${describeAddress(this.address)}: ${(error as Error).message}`));
      return;
    }
    if (!reply) return;
    const [id, status, value] = reply;
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#socket?.unref();
    if (status === FAILED) pending.reject(remoteErrorOf(value as RemoteFailure));
    else pending.resolve(value);
  }

  /** Rejects every pending call; the next call reconnects (unless the manager was shut down here). */
  #close(error: unknown): void {
    const socket = this.#socket;
    this.#socket = null;
    this.#token = null;
    this.#queued = [];
    this.#channel?.close();
    this.#channel = null;
    socket?.destroy();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(error);
  }

  /** Closes this connection (the manager keeps running). */
  disconnect(): void {
    this.#close(closedError(this.address, "connection was closed by this client"));
  }
}
