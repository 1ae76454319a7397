/**
 * A real Redis server for the cluster tests, started by the test itself on a free
 * loopback port with no persistence (issue 12, item 8). A missing redis-server is a
 * failure that says how to install it, never a skip.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { startReady } from "./start-ready.ts";
import { fileURLToPath } from "node:url";

export interface RedisServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** Starts redis-server on `port` (a free one by default) and resolves once it accepts connections. */
export async function startRedis(port?: number): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  const child = spawn("redis-server", ["--port", String(chosen), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    child.on("error", (error) =>
      reject(new Error(`Could not start redis-server (${error.message}); the cluster tests need it: apt-get install -y redis-server`)),
    );
    child.on("exit", (code) => reject(new Error(`redis-server exited with code ${code} before it was ready:\n${output}`)));
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      if (output.includes("Ready to accept connections")) resolve();
    });
  });
  child.removeAllListeners("exit");
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // A stopped server (SIGSTOP in a test) must go on to take the signal.
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await once(child, "exit");
    },
  };
}

const cli = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
export const clusterRootA = fileURLToPath(new URL("../fixtures/cluster-a/", import.meta.url));
export const clusterRootB = fileURLToPath(new URL("../fixtures/cluster-b/", import.meta.url));

export interface StartedWorker {
  process: ChildProcess;
  /** Its id in the cluster when it was ready. */
  id: string;
  stderr(): string;
  /** SIGKILL, and wait for the exit (its local pool's children see their parent go and exit too). */
  kill(): Promise<void>;
}

/** Starts `npx multiproc worker` (from the sources) and resolves once it has joined the cluster. */
export async function startWorker(
  url: string,
  options: { processes?: number; name?: string; root?: string; module?: string; context?: "process" | "thread"; extra?: string[] } = {},
): Promise<StartedWorker> {
  const root = options.root ?? clusterRootA;
  const args = [
    "--conditions=multiproc-source", "--import", "tsx", cli, "worker", "--redis", url, "--module", options.module ?? `${root}tasks.ts`, "--root", root,
    "--processes", String(options.processes ?? 1), "--context", options.context ?? "process", "--name", options.name ?? "test-worker",
    ...(options.extra ?? []),
  ];
  const { child, match, stderr } = await startReady(process.execPath, args, /^ready (\S+)$/m);
  const id = match[1]!;
  return {
    process: child,
    id,
    stderr,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await once(child, "exit");
    },
  };
}

type Client = {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<void>;
  on(event: "error", listener: (error: Error) => void): void;
};
const clients = new Map<string, Promise<Client>>();

/** One command on the server at `url`, from the test itself (to look at the cluster's state). */
export async function redisCommand(url: string, args: string[]): Promise<unknown> {
  let client = clients.get(url);
  if (!client) {
    client = import("@redis/client").then(async ({ createClient }) => {
      const created = createClient({ url, RESP: 2 }) as unknown as Client;
      // It reconnects on its own when a test kills connections or restarts the server.
      created.on("error", () => {});
      await created.connect();
      return created;
    });
    clients.set(url, client);
  }
  return (await client).sendCommand(args);
}

/** Closes the connections redisCommand opened. */
export async function closeRedisCommands(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  await Promise.all(all.map(async (client) => (await client).close()));
}

/** How many tasks of the cluster under `prefix` workers hold now (read, not finished). */
export async function heldTasks(url: string, prefix: string): Promise<number> {
  try {
    const summary = (await redisCommand(url, ["XPENDING", `${prefix}:tasks`, "workers"])) as [number];
    return Number(summary[0]);
  } catch {
    return 0;
  }
}

/** Resolves once `predicate()` is true (checked every 20 ms); rejects after `timeout` ms naming `what`. */
export async function eventually(predicate: () => Promise<boolean> | boolean, what: string, timeout = 30_000): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What a cluster test file shares: one redis-server for the file, a fresh key prefix per test, and the workers it started. */
export interface ClusterFixture {
  /** The server now (a test may restart it: `restart()`). */
  readonly redis: RedisServer;
  /** Options of a cluster of its own on the file's server: a fresh prefix. */
  options(extra?: Partial<import("multiproc").ClusterOptions>): import("multiproc").ClusterOptions;
  /** Starts a worker of the cluster under `prefix`; the file's `after` kills it if the test did not. */
  worker(prefix: string, options?: Parameters<typeof startWorker>[1]): Promise<StartedWorker>;
  /** Kills the server and starts an empty one on the same port (a restart without persistence). */
  restart(): Promise<void>;
}

/** Registers the file's before/after hooks (node:test) and returns the fixture they manage. */
export function clusterFixture(hooks: { before(fn: () => Promise<void>): void; after(fn: () => Promise<void>): void }): ClusterFixture {
  let server: RedisServer | undefined;
  const started: StartedWorker[] = [];
  let prefixes = 0;
  hooks.before(async () => {
    server = await startRedis();
  });
  hooks.after(async () => {
    await Promise.all(started.map((w) => w.kill()));
    await closeRedisCommands();
    await server?.stop();
  });
  return {
    get redis() {
      return server!;
    },
    options: (extra = {}) => ({ redis: server!.url, root: clusterRootA, prefix: `c${++prefixes}`, ...extra }),
    async worker(prefix, options = {}) {
      const one = await startWorker(server!.url, { ...options, extra: ["--prefix", prefix, ...(options.extra ?? [])] });
      started.push(one);
      return one;
    },
    async restart() {
      const { port } = server!;
      await server!.stop();
      server = await startRedis(port);
    },
  };
}
