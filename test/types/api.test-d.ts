/**
 * Type-level checks of API.md's signatures. Compiled by `npx tsc --noEmit -p tsconfig.json`; never run.
 * Each `@ts-expect-error` marks a misuse the types must reject.
 */
import * as mp from "multiproc";

declare function square(x: number): number;
declare function mul(x: number, y: number): number;
declare function greet(name: string): Promise<string>;
declare function noArgs(): boolean;

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T>(_value: T): void {}
function assertEqualTypes<A, B>(_proof: Equal<A, B>): void {}

async function poolTypes(): Promise<void> {
  await using pool = new mp.Pool({ processes: 2, context: "thread", maxTasksPerChild: 5, initializer: noArgs, initArgs: [],
    modules: [new URL("file:///x.ts"), "file:///y.ts"], resourceLimits: { maxOldGenerationSizeMb: 64, stackSizeMb: 4 } });
  const p2 = new mp.Pool(3);
  const p3 = new mp.Pool();
  void p2;
  void p3;

  const r: Promise<number[]> = pool.map(square, [1]);
  const r2: Promise<number> = pool.apply(square, [2]);
  const r3: Promise<string> = pool.apply(greet, ["x"]); // async function: resolved value
  const r4: Promise<boolean> = pool.apply(noArgs);
  const r5: Promise<number[]> = pool.starmap(mul, [[1, 2], [3, 4]]);
  const r6: Promise<number[]> = pool.map(square, new Set([1, 2]), { chunkSize: 2 });
  async function* gen(): AsyncGenerator<number> {
    yield 1;
  }
  const r7: Promise<number[]> = pool.map(square, gen());
  void [r, r2, r3, r4, r5, r6, r7];

  const ar = pool.applyAsync(square, [3], { callback: (v: number) => void v, errorCallback: (e: unknown) => void e });
  const pl: PromiseLike<number> = ar;
  expectType<Promise<number>>(ar.get());
  expectType<Promise<number>>(ar.get(100));
  expectType<Promise<void>>(ar.wait(100));
  expectType<boolean>(ar.ready());
  expectType<boolean>(ar.successful());
  const awaited: number = await ar;
  void [pl, awaited];

  const mr = pool.mapAsync(square, [1, 2], { chunkSize: 1, callback: (v: number[]) => void v });
  expectType<Promise<number[]>>(mr.get());
  const smr = pool.starmapAsync(mul, [[1, 2]]);
  expectType<Promise<number[]>>(smr.get());

  const it: AsyncIterableIterator<number> = pool.imap(square, [1, 2]);
  const itu: AsyncIterableIterator<number> = pool.imapUnordered(square, [1, 2], { chunkSize: 1 });
  expectType<Promise<IteratorResult<number>>>(pool.imap(square, [1]).next(100));
  for await (const x of it) expectType<number>(x);
  void itu;

  const ac = new AbortController();
  void pool.apply(square, [1], { signal: ac.signal, timeout: 1_000 });
  void pool.map(square, [1], { signal: ac.signal, timeout: 1_000, chunkSize: 1 });
  const buf = new ArrayBuffer(8);
  void pool.apply(square, [1], { transfer: [buf] });
  expectType<void>(pool.close());
  expectType<Promise<void>>(pool.terminate());
  expectType<Promise<void>>(pool.join());
  expectType<Promise<void>>(pool[Symbol.asyncDispose]());

  // @ts-expect-error wrong element type for square
  void pool.map(square, ["a"]);
  // @ts-expect-error wrong argument type for apply
  void pool.apply(square, ["a"]);
  // @ts-expect-error unknown option
  void new mp.Pool({ procs: 2 });
  // @ts-expect-error context must be "thread" | "process"
  void new mp.Pool({ context: "fork" });
  // @ts-expect-error chunkSize is a number
  void pool.map(square, [1], { chunkSize: "1" });
}

async function processTypes(): Promise<void> {
  const p = new mp.Process({ target: mul, args: [1, 2], name: "n", daemon: true, context: "process", modules: ["file:///x.ts"] });
  expectType<void>(p.start());
  expectType<Promise<void>>(p.join());
  expectType<Promise<void>>(p.join(100));
  expectType<boolean>(p.isAlive());
  const code: number | null = p.exitCode;
  expectType<string>(p.name);
  expectType<boolean>(p.daemon);
  expectType<void>(p.terminate());
  expectType<void>(p.kill());
  expectType<void>(p.close());
  void code;
  void new mp.Process();
  class Consumer extends mp.Process {
    override run(): void {}
  }
  await using c = new Consumer();
  c.start();
  // @ts-expect-error exitCode is read-only
  p.exitCode = 3;
}

async function queueTypes(): Promise<void> {
  const q = new mp.Queue<number>(10);
  expectType<Promise<void>>(q.put(1));
  expectType<Promise<void>>(q.put(1, { block: false, timeout: 10 }));
  expectType<Promise<number>>(q.get());
  expectType<Promise<number>>(q.get({ block: true, timeout: 10 }));
  expectType<number>(q.getNowait());
  expectType<number>(q.getSync());
  expectType<void>(q.putNowait(1));
  q.putSync(2, { timeout: 1 });
  expectType<number>(q.qsize());
  expectType<boolean>(q.empty());
  expectType<boolean>(q.full());
  // @ts-expect-error putNowait needs an item
  new mp.Queue().putNowait();
  // @ts-expect-error a Queue<number> takes numbers
  void q.put("x");
  const jq = new mp.JoinableQueue<string>();
  expectType<void>(jq.taskDone());
  expectType<Promise<void>>(jq.join());
  jq.joinSync();
  const sq = new mp.SimpleQueue<boolean>();
  expectType<Promise<boolean>>(sq.get());
  expectType<boolean>(sq.getSync());
  expectType<boolean>(sq.empty());
  void sq.put(true);
  sq.close();
}

async function pipeTypes(): Promise<void> {
  const [a, b] = mp.Pipe();
  const [r, w] = mp.Pipe(false);
  const c1: mp.Connection = a;
  void [c1, r, w];
  expectType<void>(a.send({ x: 1 }));
  expectType<Promise<boolean>>(b.poll());
  expectType<Promise<boolean>>(b.poll(10));
  expectType<Promise<Uint8Array>>(b.recvBytes());
  expectType<Promise<Uint8Array>>(b.recvBytes(10));
  a.sendBytes(new Uint8Array(2), 0, 1);
  expectType<boolean>(a.closed);
  expectType<boolean>(a.readable);
  expectType<boolean>(a.writable);
  const v = await b.recv();
  void v;
  b.recvSync();
}

async function syncTypes(): Promise<void> {
  const lock = new mp.Lock();
  expectType<Promise<boolean>>(lock.acquire());
  expectType<Promise<boolean>>(lock.acquire({ block: false, timeout: 1 }));
  expectType<boolean>(lock.acquireSync({ timeout: 1 }));
  expectType<void>(lock.release());
  expectType<Promise<number>>(lock.withLock(() => 1));
  expectType<Promise<string>>(lock.withLock(async () => "s"));
  const rl = new mp.RLock();
  expectType<Promise<boolean>>(rl.acquire());
  const sem = new mp.Semaphore(2);
  expectType<number>(sem.getValue());
  const bs = new mp.BoundedSemaphore();
  expectType<boolean>(bs.acquireSync());
  const ev = new mp.Event();
  expectType<Promise<boolean>>(ev.wait());
  expectType<Promise<boolean>>(ev.wait(10));
  expectType<boolean>(ev.waitSync(10));
  expectType<boolean>(ev.isSet());
  ev.set();
  ev.clear();
  const cond = new mp.Condition(lock);
  const cond2 = new mp.Condition(rl);
  const cond3 = new mp.Condition();
  void [cond2, cond3];
  expectType<Promise<boolean>>(cond.wait(10));
  expectType<boolean>(cond.waitSync(10));
  expectType<Promise<boolean>>(cond.waitFor(() => true, 10));
  cond.notify();
  cond.notify(2);
  cond.notifyAll();
  const bar = new mp.Barrier(2, { action: () => {}, timeout: 100 });
  expectType<Promise<number>>(bar.wait());
  expectType<number>(bar.waitSync(10));
  expectType<number>(bar.parties);
  expectType<number>(bar.nWaiting);
  expectType<boolean>(bar.broken);
  bar.reset();
  bar.abort();
  // @ts-expect-error acquire options is an object, not a number
  void lock.acquire(10);
  // @ts-expect-error Barrier needs parties
  void new mp.Barrier();
}

function sharedTypes(): void {
  expectType<bigint>(mp.Value("q").value);
  expectType<bigint>(mp.Value("l", 1n).value);
  expectType<bigint>(mp.Value("Q").value);
  expectType<bigint>(mp.Value("L").value);
  expectType<number>(mp.Value("i", 1).value);
  expectType<number>(mp.Value("d", 1.5).value);
  expectType<number>(mp.Value("b").value);
  expectType<string>(mp.Value("c").value);
  expectType<bigint>(mp.RawValue("q").value);
  expectType<number>(mp.RawValue("f").value);
  const v = mp.Value("i", 1);
  v.value = 2;
  expectType<Promise<number>>(v.withLock(() => v.value));
  void v.getLock().acquire();
  assertEqualTypes<typeof mp.RawArray extends (...a: never[]) => unknown ? true : false, true>(true);
  const d: Float64Array = mp.RawArray("d", 3);
  const f: Float32Array = mp.RawArray("f", [1, 2]);
  const q: BigInt64Array = mp.RawArray("q", 3);
  const uq: BigUint64Array = mp.RawArray("Q", 3);
  const b: Int8Array = mp.RawArray("b", 3);
  const ub: Uint8Array = mp.RawArray("B", 3);
  const h: Int16Array = mp.RawArray("h", 3);
  const uh: Uint16Array = mp.RawArray("H", 3);
  const i: Int32Array = mp.RawArray("i", 3);
  const ui: Uint32Array = mp.RawArray("I", 3);
  void [d, f, q, uq, b, ub, h, uh, i, ui];
  const arr = mp.Array("i", [1, 2, 3]);
  expectType<number>(arr.length);
  const x: number | undefined = arr[0];
  arr[1] = 5;
  for (const y of arr) expectType<number>(y);
  void arr.getLock();
  void arr.withLock(() => 1);
  const big = mp.Array("q", 2);
  const bx: bigint | undefined = big[0];
  void [x, bx];
  // @ts-expect-error unknown typecode
  mp.Value("z");
  // @ts-expect-error a bigint typecode takes a bigint
  mp.Value("q", 1.5);
  // @ts-expect-error a number typecode holds numbers
  mp.Value("i").value = "s";
  const shm = new mp.SharedMemory({ create: true, size: 10 });
  expectType<string>(shm.name);
  expectType<number>(shm.size);
  expectType<Uint8Array>(shm.buf);
  shm.close();
  shm.unlink();
  void new mp.SharedMemory({ name: "x" });
  const sl = new mp.ShareableList([1, "a"]);
  void new mp.ShareableList("name");
  void sl;
}

function moduleTypes(): void {
  expectType<number>(mp.cpuCount());
  const cp = mp.currentProcess();
  expectType<string>(cp.name);
  expectType<boolean>(cp.daemon);
  const pp = mp.parentProcess();
  // @ts-expect-error parentProcess may be null
  void pp.name;
  expectType<boolean>(mp.isMainProcess());
  mp.registerModule("file:///x.ts");
  mp.setStartMethod("process");
  // @ts-expect-error unknown start method
  mp.setStartMethod("fork");
  // NOTE: typed `string | null` by the implementation (Python's default get_start_method() never returns None).
  const sm: string | null = mp.getStartMethod();
  void sm;
  expectType<readonly string[]>(mp.getAllStartMethods());
  const ctx = mp.getContext("thread");
  void new ctx.Pool(2);
  void new ctx.Queue<number>();
  void ctx.Value("d", 1);
  void ctx.Pipe();
  // @ts-expect-error unknown context
  mp.getContext("fork");
  mp.getLogger();
  mp.logToStderr();
  const e1: mp.ProcessError = new mp.TimeoutError("t");
  const e2: mp.ProcessError = new mp.WorkerLostError("w");
  const e3: mp.ProcessError = new mp.BufferTooShort("b");
  const e4: mp.ProcessError = new mp.AuthenticationError("a");
  const e5: Error = new mp.Empty();
  const e6: Error = new mp.Full();
  const e7: Error = new mp.EOFError();
  const e8: Error = new mp.BrokenBarrierError();
  const e9: Error = new mp.RemoteError("r");
  void [e1, e2, e3, e4, e5, e6, e7, e8, e9];
}

void [poolTypes, processTypes, queueTypes, pipeTypes, syncTypes, sharedTypes, moduleTypes];

class Greeter {
  hello(name: string): string {
    return `hi ${name}`;
  }
  async later(n: number): Promise<number> {
    return n;
  }
  _hidden(): void {}
}

async function managerTypes(): Promise<void> {
  await using manager = await mp.Manager();
  const d = manager.dict<string, number>();
  const got = await d.get("k");
  assertEqualTypes<typeof got, number | undefined>(true);
  expectType<Promise<number | string>>(d.get("k", "fallback"));
  expectType<Promise<void>>(d.set("k", 1));
  // @ts-expect-error a string value in a dict of numbers
  void d.set("k", "one");
  expectType<Promise<Record<string, number>>>(d.copy());
  const l = manager.list<string>(["a"]);
  expectType<Promise<string>>(l.get(-1));
  expectType<Promise<string[]>>(l.copy());
  const q = manager.Queue<number>();
  expectType<Promise<number>>(q.get({ timeout: 10 }));
  expectType<Promise<boolean>>(manager.Lock().acquire({ block: false }));
  expectType<Promise<boolean>>(manager.Event().wait(5));
  expectType<Promise<number>>(manager.Barrier(2).parties);
  expectType<Promise<number>>(manager.Value("i", 1).get());
  expectType<Promise<number[]>>(manager.Array("d", [1, 2]).copy());
  expectType<mp.Address>(manager.address);

  class GreeterManager extends mp.BaseManager {}
  GreeterManager.register("Greeter", Greeter);
  const remote = new GreeterManager({ address: { host: "127.0.0.1", port: 0 }, authkey: "key" });
  await remote.start();
  const greeter = remote.create<Greeter>("Greeter");
  expectType<Promise<string>>(greeter.hello("you"));
  expectType<Promise<number>>(greeter.later(1));
  // @ts-expect-error private names are not part of a proxy
  void greeter._hidden;
  await remote.shutdown();
  const server = new GreeterManager().getServer();
  expectType<Promise<void>>(server.serveForever());
}
void managerTypes;
