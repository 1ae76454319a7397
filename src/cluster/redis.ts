/**
 * The one place the cluster touches a Redis client: node-redis's core, `@redis/client`
 * (the official client; README, "Design"), loaded only when a cluster is asked for, so
 * the local library keeps no runtime dependency. Everything else speaks in raw
 * commands through RedisLink.
 */
import { createHash } from "node:crypto";
import { ClusterError } from "../errors.ts";

type Argument = string | Buffer;

/** One connection. A blocking read (XREAD BLOCK) needs a link of its own: it holds the connection while it waits. */
export interface RedisLink {
  /**
   * A command; bulk strings come back as strings. Commands wait for their answer without a
   * time limit (a frozen server answers when it resumes) unless given `timeoutMs`: the
   * beats are, so that a caller notices a server out of reach.
   */
  call(args: readonly Argument[], timeoutMs?: number): Promise<unknown>;
  /** A command; bulk strings come back as Buffers (task and result payloads). */
  callBinary(args: readonly Argument[]): Promise<unknown>;
  /** A Lua script (scripts.ts) by its SHA-1, loaded once per server (again after a restart). */
  script(lua: string, keys: readonly string[], args: readonly Argument[], timeoutMs?: number): Promise<unknown>;
  /** A second connection to the same server. */
  duplicate(): Promise<RedisLink>;
  /** Whether the connection keeps the program alive (while a call waits for a result), like a timer's ref(). */
  keepAlive(on: boolean): void;
  /** Ends the connection once its pending commands have answered. */
  close(): Promise<void>;
  /** Ends the connection now; its pending commands reject. */
  destroy(): void;
}

interface NodeRedisClient {
  connect(): Promise<unknown>;
  sendCommand(args: readonly Argument[], options?: { typeMapping?: Record<number, unknown>; timeout?: number }): Promise<unknown>;
  duplicate(): NodeRedisClient;
  on(event: "error", listener: (error: Error) => void): unknown;
  ref(): void;
  unref(): void;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  destroy(): void;
}

interface NodeRedisModule {
  createClient(options: Record<string, unknown>): NodeRedisClient;
  RESP_TYPES: { BLOB_STRING: number };
}

let loaded: Promise<NodeRedisModule> | undefined;

function loadClient(): Promise<NodeRedisModule> {
  // A variable specifier: the bundle must not try to include the optional peer dependency.
  const name = "@redis/client";
  loaded ??= (import(name) as Promise<NodeRedisModule>).catch((error: unknown) => {
    loaded = undefined;
    throw new ClusterError(
      "A cluster Pool needs the Redis client `@redis/client` (node-redis), which is not installed; run `npm install @redis/client`",
      { code: "ERR_MP_CLUSTER_NO_CLIENT", cause: error },
    );
  });
  return loaded;
}

const shas = new Map<string, string>();

function sha1(lua: string): string {
  let sha = shas.get(lua);
  if (!sha) {
    sha = createHash("sha1").update(lua).digest("hex");
    shas.set(lua, sha);
  }
  return sha;
}

class NodeRedisLink implements RedisLink {
  readonly #module: NodeRedisModule;
  readonly #client: NodeRedisClient;
  readonly #binary: { typeMapping: Record<number, unknown> };

  constructor(module: NodeRedisModule, client: NodeRedisClient) {
    this.#module = module;
    this.#client = client;
    this.#binary = { typeMapping: { [module.RESP_TYPES.BLOB_STRING]: Buffer } };
    // node-redis reconnects on its own; without a listener an error event would crash the
    // program. The commands that fail meanwhile reject, and their callers say what failed.
    client.on("error", () => {});
  }

  call(args: readonly Argument[], timeoutMs?: number): Promise<unknown> {
    return timeoutMs === undefined ? this.#client.sendCommand(args) : this.#client.sendCommand(args, { timeout: timeoutMs });
  }

  callBinary(args: readonly Argument[]): Promise<unknown> {
    return this.#client.sendCommand(args, this.#binary);
  }

  async script(lua: string, keys: readonly string[], args: readonly Argument[], timeoutMs?: number): Promise<unknown> {
    const call = (command: string, body: string) => this.call([command, body, String(keys.length), ...keys, ...args], timeoutMs);
    try {
      return await call("EVALSHA", sha1(lua));
    } catch (error) {
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
      return call("EVAL", lua);
    }
  }

  keepAlive(on: boolean): void {
    if (on) this.#client.ref();
    else this.#client.unref();
  }

  async duplicate(): Promise<RedisLink> {
    const client = this.#client.duplicate();
    const link = new NodeRedisLink(this.#module, client);
    await client.connect();
    return link;
  }

  destroy(): void {
    this.#client.destroy();
  }

  async close(): Promise<void> {
    try {
      if (this.#client.close) await this.#client.close();
      else await this.#client.quit?.();
    } catch {
      this.#client.destroy();
    }
  }
}

/** Connects to the Redis server at `url` ("redis://host:6379"). */
export async function connectRedis(url: string): Promise<RedisLink> {
  const module = await loadClient();
  let connected = false;
  const client = module.createClient({
    url,
    RESP: 2,
    // While the connection is down, commands fail at once rather than wait in a queue
    // without bound: every loop of the cluster retries on its own (docs/cluster.md, "Faults").
    disableOfflineQueue: true,
    // No time limit by default (node-redis's is 5 s): a timer and an AbortSignal per command
    // were a tenth of a small task's cost; the beats set their own (RedisLink.call).
    commandOptions: { timeout: 0 },
    // Once connected, it reconnects without end (a restart, a killed connection); a first
    // connection that fails is an error now, not a wait without end.
    socket: { reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, 500) : cause) },
  });
  const link = new NodeRedisLink(module, client);
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    try {
      client.destroy();
    } catch {
      // it never opened
    }
    throw new ClusterError(`Could not connect to Redis at ${url}: ${(error as Error).message}. Is redis-server running there?`, {
      code: "ERR_MP_CLUSTER_REDIS",
      cause: error,
    });
  }
  return link;
}
