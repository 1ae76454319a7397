/**
 * `npm run bench`: multiproc's Pool beside piscina, tinypool, workerpool,
 * poolifier and Python's multiprocessing.Pool in one run, its cluster Pool beside
 * BullMQ on a loopback Redis, plus the micro benchmarks in bench/micro/ beside
 * their Python twins. Prints a table of
 * medians with multiproc's ratio against each, and writes every number to
 * bench/results/<timestamp>.json. Knobs: see bench/README.md.
 *
 * Each library runs in a child process of its own (bench/lib/child.ts), so
 * they never share a heap or threads and a hang costs one timeout.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { readPlan, type Plan } from "./lib/plan.ts";
import { ratioChart } from "./lib/chart.ts";
import { formatMarkdown, formatTable, writeReport, type Row } from "./lib/report.ts";
import { clusterTargets, targetRatios, type Target } from "./lib/targets.ts";
import { runChild, type ChildOutcome } from "./lib/spawn.ts";
import type { Measure } from "./lib/timing.ts";
import type { ClusterResult } from "./cluster/suite.ts";
import type { PoolResult } from "./macro/suite.ts";

const benchDir = new URL("./", import.meta.url);
const rootDir = fileURLToPath(new URL("../", benchDir));
/** The pools of each table, ours first; each is bench/macro/<name>.ts (python: bench/python/pool_bench.py). */
const TABLES = {
  thread: ["multiproc", "piscina", "tinypool", "workerpool", "poolifier"],
  process: ["multiproc-process", "tinypool-process", "workerpool-process", "poolifier-cluster", "python"],
} as const;
/** The cluster table (issue 12): bench/cluster/<name>.ts, each on a redis-server of its own with two worker processes. */
const CLUSTER = ["multiproc-cluster", "bullmq"] as const;
/** bench's own dependencies: the peers, and multiproc itself as a link to the repository root. */
const DEPENDENCIES = ["multiproc", "piscina", "tinypool", "workerpool", "poolifier", "bullmq", "ioredis"];
const OURS = "multiproc";
const PYTHON = "python";
const POOL_ROWS = {
  w1TinyTasks: "W1 tiny tasks",
  w2Map: "W2 map",
  w3SpeedUp: "W3 CPU-bound speed-up",
  w4BulkCopy: "W4 1 MiB arrays by copy",
  w5ColdStart: "W5 cold start",
  w5ColdStartTypeScript: "W5 cold start, .ts task module",
} as const;
const CLUSTER_ROWS = {
  c1SmallTasks: "C1 small tasks, one by one",
  c2Map: "C2 map over 1M numbers",
  c3WorkerLoss: "C3 worker loss noticed",
} as const;

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
 * A micro benchmark's number as a Measure: keys naming a time (…Ms, …Ns, latency) or a size (…MiB) are
 * better lower, also with the "Processes" suffix of the measures taken between OS processes.
 */
function microMeasure(key: string, value: number): Measure {
  const lower = /(ms|us|ns|seconds|latency|time|mib)$/i.test(key.replace(/Processes$/, ""));
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
  for (const name of [...TABLES.thread, ...TABLES.process]) {
    if (!wanted(plan, name)) continue;
    pool[name] = await step(
      `pool ${name}`,
      name === PYTHON ? pythonChild(fileURLToPath(new URL("python/pool_bench.py", benchDir))) : nodeChild("pool", name),
    );
  }

  // W3: the Node libraries of each table in one child, taking turns (macro/speed-up.ts).
  const speedUp: Record<string, ChildOutcome> = {};
  for (const kind of Object.keys(TABLES) as (keyof typeof TABLES)[]) {
    const names = TABLES[kind].filter((name) => name !== PYTHON && pool[name]?.ok);
    if (names.length === 0) continue;
    const outcome = await step(`W3 ${names.join(", ")}`, nodeChild("speed-up", names.join(",")));
    speedUp[kind] = outcome;
    if (!outcome.ok) continue;
    for (const [name, measure] of Object.entries(outcome.value as Record<string, Measure>)) {
      const result = pool[name];
      if (result?.ok) (result.value as PoolResult).measures.w3SpeedUp = measure;
    }
  }

  const micro: Record<string, Record<string, ChildOutcome>> = {};
  for (const name of wanted(plan, "micro") ? microNames() : []) {
    micro[name] = { [OURS]: await step(`micro ${name}`, nodeChild("micro", name)) };
    const twin = pythonTwin(name);
    if (twin) micro[name][PYTHON] = await step(`micro ${name} (python)`, pythonChild(twin));
  }

  // The cluster (issue 12): each library on a redis-server of its own (Debian's package, on PATH).
  const cluster: Record<string, ChildOutcome> = {};
  for (const name of CLUSTER) {
    if (wanted(plan, name) || wanted(plan, "cluster")) cluster[name] = await step(`cluster ${name}`, nodeChild("cluster", name));
  }
  const clusterOf = (name: string) => (cluster[name]?.ok ? (cluster[name].value as ClusterResult) : undefined);
  const clusterColumns = CLUSTER.filter((name) => clusterOf(name));
  const clusterRows: Row[] = (Object.keys(CLUSTER_ROWS) as (keyof typeof CLUSTER_ROWS)[])
    .map((key) => ({ label: CLUSTER_ROWS[key], cells: Object.fromEntries(clusterColumns.map((name) => [name, clusterOf(name)?.measures[key]])) }))
    .filter((row) => Object.values(row.cells).some(Boolean));

  const poolOf = (name: string) => (pool[name]?.ok ? (pool[name].value as PoolResult) : undefined);
  const tables = (Object.keys(TABLES) as (keyof typeof TABLES)[]).flatMap((kind) => {
    const columns = TABLES[kind].filter((name) => poolOf(name));
    if (!columns.length) return [];
    const rows: Row[] = (Object.keys(POOL_ROWS) as (keyof typeof POOL_ROWS)[])
      .map((key) => ({ label: POOL_ROWS[key], cells: Object.fromEntries(columns.map((name) => [name, poolOf(name)?.measures[key]])) }))
      .filter((row) => Object.values(row.cells).some(Boolean));
    return [{ kind, columns, rows }];
  });
  const microRows: Row[] = [];
  for (const [name, sides] of Object.entries(micro)) {
    const ours = sides[OURS]?.ok ? (sides[OURS].value as Record<string, number>) : {};
    const theirs = sides[PYTHON]?.ok ? (sides[PYTHON].value as Record<string, number>) : {};
    for (const key of Object.keys({ ...ours, ...theirs })) {
      const cell = (value: number | undefined) => (typeof value === "number" ? microMeasure(key, value) : undefined);
      microRows.push({ label: `${name}: ${key}`, cells: { [OURS]: cell(ours[key]), [PYTHON]: cell(theirs[key]) } });
    }
  }
  const programs = micro.programs?.[OURS];
  const targets = [
    ...targetRatios(poolOf, programs?.ok ? (programs.value as Record<string, number>).lockExampleSeconds : undefined),
    ...(clusterColumns.length ? clusterTargets(clusterOf) : []),
  ];

  const failures = [
    ...Object.entries(pool).map(([name, outcome]) => [`pool ${name}`, outcome] as const),
    ...Object.entries(speedUp).map(([kind, outcome]) => [`W3 ${kind}`, outcome] as const),
    ...Object.entries(cluster).map(([name, outcome]) => [`cluster ${name}`, outcome] as const),
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
    // `npm run bench` runs the build (dist/), as users do; --conditions=multiproc-source would run the sources through tsx.
    multiprocFrom: process.execArgv.some((arg) => arg.includes("multiproc-source")) ? "src (tsx)" : "dist",
    plan,
    targets,
    pool: Object.fromEntries(Object.entries(pool).map(([name, o]) => [name, o.ok ? o.value : { error: o.error }])),
    cluster: Object.fromEntries(Object.entries(cluster).map(([name, o]) => [name, o.ok ? o.value : { error: o.error }])),
    micro: Object.fromEntries(
      Object.entries(micro).map(([name, sides]) => [
        name,
        Object.fromEntries(Object.entries(sides).map(([side, o]) => [side, o.ok ? o.value : { error: o.error }])),
      ]),
    ),
  };
  const file = writeReport(new URL("results/", benchDir), report, startedAt);

  const { device } = report;
  const heading =
    `${device.cpuModel} x ${device.cpuCount}, Node ${report.node}, ` +
    `Python ${report.python.version ?? "not found"}${report.python.startMethod ? ` (${report.python.startMethod})` : ""}, ` +
    `multiproc from ${report.multiprocFrom}, ${plan.workers} workers, median of ${plan.repeat} after an untimed run (W3: of ${plan.fibRounds} rounds, a table's Node pools taking turns)${plan.quick ? ", QUICK" : ""}`;
  console.log(`\nmultiproc benchmarks: ${heading}\n`);
  if (loadAtStart > device.cpuCount / 2) {
    console.log(`warning: 1-minute load average was ${loadAtStart.toFixed(1)} on ${device.cpuCount} CPUs at start; expect noisy numbers\n`);
  }
  for (const table of tables) {
    console.log(`${table.kind === "thread" ? "Worker threads" : "OS processes"}:\n${formatTable(table.rows, table.columns, table.columns[0]!)}\n`);
  }
  if (clusterRows.length) console.log(`Cluster on loopback Redis, 2 worker processes:\n${formatTable(clusterRows, clusterColumns, clusterColumns[0]!)}\n`);
  if (microRows.length) console.log(`Micro benchmarks:\n${formatTable(microRows, [OURS, PYTHON], OURS)}\n`);
  console.log(`(Nx) = how many times better multiproc is than that column (> 1: multiproc wins; rates higher, times lower).`);
  for (const table of tables) {
    for (const name of table.columns) {
      const result = poolOf(name);
      if (result) console.log(`  ${name} ${result.version}: W2 = ${result.mapHow}; ${result.settings}`);
    }
  }
  for (const name of clusterColumns) console.log(`  ${name} ${clusterOf(name)!.version}: ${clusterOf(name)!.settings}`);
  console.log(`\nGoals (issues 11 and 12):\n${formatTargets(targets)}`);
  for (const [what, outcome] of failures) console.log(`  FAILED ${what}: ${outcome.ok ? "" : outcome.error}`);
  console.log(`\nJSON report: ${file} (total ${(report.totalMs / 1000).toFixed(0)} s)`);
  // Only a full run speaks for the project: docs/performance.md and its chart show the latest one.
  if (!plan.quick && plan.only.length === 0 && failures.length === 0 && process.env.MP_BENCH_DOCS !== "0") {
    const date = startedAt.toISOString().slice(0, 10);
    const markdown = [
      `One run of \`npm run bench\` (${date}; ${heading}; load ${loadAtStart.toFixed(1)} at the start). JSON: \`bench/results/${basename(file)}\` on the machine that ran it.`,
      "",
      `![multiproc's ratios against the best peer of each kind](bench-ratios.svg)`,
      "",
      "| context | goal (issues 11, 12) | against | ratio | needed | met |",
      "|---|---|---|---|---|---|",
      ...targets.map(
        (t) => `| ${t.context} | ${t.measure} | ${t.against} | ${t.ratio === null ? "-" : `${t.ratio.toFixed(2)}x`} | ${t.goal >= 1 ? `${t.goal}x` : `${t.goal.toFixed(2)}x`} | ${t.ratio !== null && t.ratio >= t.goal ? "yes" : "no"} |`,
      ),
      "",
      ...tables.flatMap((table) => [`${table.kind === "thread" ? "Worker threads" : "OS processes"}:`, "", formatMarkdown(table.rows, table.columns, table.columns[0]!), ""]),
      ...(clusterRows.length ? ["Cluster on loopback Redis, 2 worker processes:", "", formatMarkdown(clusterRows, clusterColumns, clusterColumns[0]!), ""] : []),
      ...(microRows.length ? ["Micro benchmarks:", "", formatMarkdown(microRows, [OURS, PYTHON], OURS), ""] : []),
    ].join("\n");
    updateDocs(markdown, ratioChart(targets, `multiproc vs the best peer, ${date} (${plan.workers} workers, ${device.cpuCount} cores)`));
    console.log("docs/performance.md and docs/bench-ratios.svg now show this run.");
  }
  if (failures.length > 0) process.exitCode = 1;
}

function formatTargets(targets: readonly Target[]): string {
  return targets
    .map((t) => {
      const value = t.ratio === null ? "not run" : `${t.ratio.toFixed(2)}x`;
      const met = t.ratio !== null && t.ratio >= t.goal ? "met" : "NOT met";
      return `  ${t.context.padEnd(7)} ${t.measure.padEnd(28)} vs ${t.against.padEnd(28)} ${value.padStart(7)} (needs ${t.goal.toFixed(2)}x) ${met}`;
    })
    .join("\n");
}

const DOCS_START = "<!-- bench:latest:start -->";
const DOCS_END = "<!-- bench:latest:end -->";

/** Replaces the latest-run section of docs/performance.md and writes the chart beside it. */
function updateDocs(markdown: string, svg: string): void {
  const docs = new URL("../docs/", benchDir);
  const page = new URL("performance.md", docs);
  const text = readFileSync(page, "utf8");
  const start = text.indexOf(DOCS_START);
  const end = text.indexOf(DOCS_END);
  if (start < 0 || end < start) throw new Error(`docs/performance.md has no ${DOCS_START} ... ${DOCS_END} section to update`);
  writeFileSync(page, `${text.slice(0, start + DOCS_START.length)}\n${markdown}\n${text.slice(end)}`);
  writeFileSync(new URL("bench-ratios.svg", docs), svg);
}

await main();
