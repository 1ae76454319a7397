/**
 * `npm run bench`: multiproc's Pool beside piscina, tinypool, workerpool,
 * poolifier and Python's multiprocessing.Pool in one run, plus the micro
 * benchmarks in bench/micro/ beside their Python twins. Prints a table of
 * medians with multiproc's ratio against each, and writes every number to
 * bench/results/<timestamp>.json. Knobs: see bench/README.md.
 *
 * Each library runs in a child process of its own (bench/lib/child.ts), so
 * they never share a heap or threads and a hang costs one timeout.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { readPlan, type Plan } from "./lib/plan.ts";
import { formatTable, writeReport, type Row } from "./lib/report.ts";
import { runChild, type ChildOutcome } from "./lib/spawn.ts";
import type { Measure } from "./lib/timing.ts";
import type { PoolResult } from "./macro/suite.ts";

const benchDir = new URL("./", import.meta.url);
const rootDir = fileURLToPath(new URL("../", benchDir));
const PEERS = ["piscina", "tinypool", "workerpool", "poolifier"] as const;
/** bench's own dependencies: the peers, and multiproc itself as a link to the repository root. */
const DEPENDENCIES = ["multiproc", ...PEERS];
const NODE_LIBRARIES = ["multiproc", ...PEERS] as const;
const OURS = "multiproc";
const PYTHON = "python";

/** Installs bench's own packages once, in a fresh clone. */
function ensureInstalled(): void {
  const missing = DEPENDENCIES.filter((name) => !existsSync(new URL(`node_modules/${name}/package.json`, benchDir)));
  if (missing.length === 0) return;
  const benchPath = fileURLToPath(benchDir);
  console.error(`bench: ${missing.join(", ")} not installed; running \`npm install --prefix bench\` once`);
  // The peers are plain JavaScript and the link must not rebuild the root: no install script runs.
  const npm = spawnSync("npm", ["install", "--prefix", benchPath, "--no-audit", "--no-fund", "--ignore-scripts"], {
    stdio: "inherit",
    shell: process.platform === "win32",
  });
  if (npm.status !== 0) {
    throw new Error(`\`npm install --prefix bench\` failed (${npm.error?.message ?? `exit code ${npm.status}`}); run it by hand and retry`);
  }
}

function wanted(plan: Plan, name: string): boolean {
  return plan.only.length === 0 || plan.only.includes(name);
}

/** bench/micro/<name>.ts modules, each with an optional Python twin bench/python/<name>_bench.py. */
function microNames(): string[] {
  const dir = new URL("micro/", benchDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => file.slice(0, -3))
    .sort();
}

function pythonTwin(name: string): string | null {
  const file = fileURLToPath(new URL(`python/${name}_bench.py`, benchDir));
  return existsSync(file) ? file : null;
}

async function step(label: string, run: () => Promise<ChildOutcome>): Promise<ChildOutcome> {
  process.stderr.write(`bench: ${label} ... `);
  const outcome = await run();
  process.stderr.write(outcome.ok ? `${(outcome.ms / 1000).toFixed(1)} s\n` : `FAILED: ${outcome.error}\n`);
  return outcome;
}

/**
 * A micro benchmark's number as a Measure: keys naming a time (…Ms, …Ns, latency) are
 * better lower, also with the "Processes" suffix of the measures taken between OS processes.
 */
function microMeasure(key: string, value: number): Measure {
  const lower = /(ms|us|ns|seconds|latency|time)$/i.test(key.replace(/Processes$/, ""));
  return { value, unit: lower ? "lower=better" : "higher=better", better: lower ? "lower" : "higher", samples: [value] };
}

function pythonVersion(python: string): string | null {
  const out = spawnSync(python, ["-c", "import platform; print(platform.python_version())"], { encoding: "utf8" });
  return out.status === 0 ? out.stdout.trim() : null;
}

async function main(): Promise<void> {
  const plan = readPlan();
  const startedAt = new Date();
  // Other work on the machine skews every number; the report keeps the load beside them.
  const loadAtStart = os.loadavg()[0]!;
  ensureInstalled();
  // Python twins may read the micro duration from its own variable rather than from the plan.
  const env = { ...process.env, MP_BENCH_PLAN: JSON.stringify(plan), MP_BENCH_MICRO_MS: String(plan.microMs) };
  const options = { env, timeoutMs: plan.timeoutMs, cwd: rootDir };
  // Same flags as this process (--import tsx; multiproc itself comes from its build, dist/).
  const nodeChild = (...args: string[]) => () =>
    runChild(process.execPath, [...process.execArgv, fileURLToPath(new URL("lib/child.ts", benchDir)), ...args], options);
  const pythonChild = (file: string) => () => runChild(plan.python, [file], options);

  const pool: Record<string, ChildOutcome> = {};
  for (const name of NODE_LIBRARIES) {
    if (wanted(plan, name)) pool[name] = await step(`pool ${name}`, nodeChild("pool", name));
  }
  if (wanted(plan, PYTHON)) {
    pool[PYTHON] = await step("pool python", pythonChild(fileURLToPath(new URL("python/pool_bench.py", benchDir))));
  }

  const micro: Record<string, Record<string, ChildOutcome>> = {};
  for (const name of wanted(plan, "micro") ? microNames() : []) {
    micro[name] = { [OURS]: await step(`micro ${name}`, nodeChild("micro", name)) };
    const twin = pythonTwin(name);
    if (twin) micro[name][PYTHON] = await step(`micro ${name} (python)`, pythonChild(twin));
  }

  // Python's column shows when its pool or any micro twin ran (MP_BENCH_ONLY=micro runs the twins alone).
  const pythonRan = Object.values(micro).some((sides) => sides[PYTHON]);
  const columns = [...NODE_LIBRARIES, PYTHON].filter((name) => pool[name] || name === OURS || (name === PYTHON && pythonRan));
  const poolOf = (name: string) => (pool[name]?.ok ? (pool[name].value as PoolResult) : undefined);
  const label = {
    tinyTasks: `tiny tasks (${plan.tinyTasks} x inc, concurrent)`,
    map: `map (${plan.mapItems} items)`,
    cpuBound: `CPU-bound (${plan.cpuTasks} x ${plan.cpuTaskMs} ms; ideal ${Math.ceil(plan.cpuTasks / plan.workers) * plan.cpuTaskMs} ms)`,
    startupShutdown: "pool startup + shutdown",
  } as const;
  const rows: Row[] = (Object.keys(label) as (keyof typeof label)[]).map((key) => ({
    label: label[key],
    cells: Object.fromEntries(columns.map((name) => [name, poolOf(name)?.measures[key]])),
  }));
  for (const [name, sides] of Object.entries(micro)) {
    const ours = sides[OURS]?.ok ? (sides[OURS].value as Record<string, number>) : {};
    const theirs = sides[PYTHON]?.ok ? (sides[PYTHON].value as Record<string, number>) : {};
    for (const key of Object.keys({ ...ours, ...theirs })) {
      const cell = (value: number | undefined) => (typeof value === "number" ? microMeasure(key, value) : undefined);
      rows.push({ label: `${name}: ${key}`, cells: { [OURS]: cell(ours[key]), [PYTHON]: cell(theirs[key]) } });
    }
  }

  const failures = [
    ...Object.entries(pool).map(([name, outcome]) => [`pool ${name}`, outcome] as const),
    ...Object.entries(micro).flatMap(([name, sides]) =>
      Object.entries(sides).map(([side, outcome]) => [`micro ${name} (${side})`, outcome] as const),
    ),
  ].filter(([, outcome]) => !outcome.ok);

  const python = poolOf(PYTHON) as (PoolResult & { startMethod?: string }) | undefined;
  const cpus = os.cpus();
  const report = {
    startedAt: startedAt.toISOString(),
    totalMs: Date.now() - startedAt.getTime(),
    device: {
      platform: `${os.platform()} ${os.release()}`,
      arch: os.arch(),
      cpuModel: cpus[0]?.model ?? "unknown",
      cpuCount: cpus.length,
      totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
      loadAverage1m: { atStart: loadAtStart, atEnd: os.loadavg()[0]! },
    },
    node: process.version,
    python: { executable: plan.python, version: python?.version ?? pythonVersion(plan.python), startMethod: python?.startMethod ?? null },
    context: plan.context,
    // `npm run bench` runs the build (dist/), as users do; --conditions=multiproc-source would run the sources through tsx.
    multiprocFrom: process.execArgv.some((arg) => arg.includes("multiproc-source")) ? "src (tsx)" : "dist",
    plan,
    pool: Object.fromEntries(Object.entries(pool).map(([name, o]) => [name, o.ok ? o.value : { error: o.error }])),
    micro: Object.fromEntries(
      Object.entries(micro).map(([name, sides]) => [
        name,
        Object.fromEntries(Object.entries(sides).map(([side, o]) => [side, o.ok ? o.value : { error: o.error }])),
      ]),
    ),
  };
  const file = writeReport(new URL("results/", benchDir), report, startedAt);

  const { device } = report;
  console.log(
    `\nmultiproc benchmarks: ${device.cpuModel} x ${device.cpuCount}, Node ${report.node}, ` +
      `Python ${report.python.version ?? "not found"}${report.python.startMethod ? ` (${report.python.startMethod})` : ""}, ` +
      `multiproc from ${report.multiprocFrom}, context ${plan.context}, ${plan.workers} workers, median of ${plan.repeat}${plan.quick ? ", QUICK" : ""}\n`,
  );
  if (loadAtStart > device.cpuCount / 2) {
    console.log(`warning: 1-minute load average was ${loadAtStart.toFixed(1)} on ${device.cpuCount} CPUs at start; expect noisy numbers\n`);
  }
  console.log(formatTable(rows, columns, OURS));
  console.log(`\n(Nx) = how many times better multiproc is than that column (> 1: multiproc wins; rates higher, times lower).`);
  for (const name of columns) {
    const result = poolOf(name);
    if (result) console.log(`  ${name} ${result.version}: map = ${result.mapHow}; ${result.settings}`);
  }
  for (const [what, outcome] of failures) console.log(`  FAILED ${what}: ${outcome.ok ? "" : outcome.error}`);
  console.log(`\nJSON report: ${file} (total ${(report.totalMs / 1000).toFixed(0)} s)`);
  if (failures.length > 0) process.exitCode = 1;
}

await main();
