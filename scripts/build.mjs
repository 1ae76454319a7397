// `npm run build`: the package's dist/. esbuild bundles the JavaScript, tsc writes the
// type declarations. Why a bundle: every worker imports the library before its first task,
// and loading it as ~100 separate ES modules cost a worker thread about 70 ms; as a handful
// of files it costs a fraction of that (docs/performance.md, "Where start-up time goes").
//
// The entry points are the files something loads by URL: the package's index, the two
// worker entries (backends/thread.ts and backends/process.ts start them), the manager's
// server module (a Process target's module, imported by the server's process), the
// TypeScript compiler's helper thread (backends/typescript-build.ts) and the command line
// (cli.ts: `npx multiproc`). Code they
// share lands in dist/chunks/, one level under dist/ like every entry but the index, so a
// path a module computes from its own import.meta.url ("../runtime/...", "../../build/...")
// means the same file in src/ and in the bundle.
import { spawnSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  outbase: "src",
  outdir: "dist",
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  // Class and function names appear in errors and in `mp.RemoteError.remoteName`.
  keepNames: true,
  logLevel: "warning",
};

await build({
  ...common,
  entryPoints: ["src/index.ts", "src/cli.ts", "src/runtime/thread-entry.ts", "src/runtime/process-entry.ts", "src/managers/server-process.ts"],
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
});
// The TypeScript compiler's helper thread imports only Node's modules: built on its own, it
// shares nothing with the others. In the build above it shared only esbuild's keepNames
// helper with them, and that put the helper in a chunk of its own, one more file for every
// worker to load before its first task (each costs a child process about 0.5 ms).
await build({ ...common, entryPoints: ["src/backends/typescript-compiler.ts"] });

// A child process starts from a CommonJS file that require()s its ES module entry (see the file).
copyFileSync(`${root}src/runtime/process-entry.cjs`, `${root}dist/runtime/process-entry.cjs`);

const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json", "--emitDeclarationOnly"], {
  cwd: root,
  stdio: "inherit",
});
process.exit(tsc.status ?? 1);
