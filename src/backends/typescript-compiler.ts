/**
 * The helper thread behind typescript-build.ts: compiles TypeScript modules to
 * JavaScript files with esbuild (the compiler tsx itself runs on), one output file
 * per source file, so a module imported by two others is still one module.
 *
 * Each output keeps the meaning of its source where it is read from elsewhere:
 * - every import is rewritten to an absolute URL, resolved as from the source file
 *   (esbuild's resolver, with the program's --conditions): TypeScript files to their
 *   own compiled output, everything else (packages, JavaScript files, Node's modules)
 *   to the file Node would load;
 * - `import.meta.url`, `import.meta.filename` and `import.meta.dirname` are the source's;
 * - an inline source map points stack traces at the source's lines.
 *
 * A source that Node would load as CommonJS (.cts, or .ts in a package without
 * `"type": "module"`) fails the whole request: tsx runs those, and the parent
 * falls back to it.
 *
 * Runs with only Node's modules and esbuild loaded; it answers through `port`, then
 * wakes the parent, which sleeps on `signal` (Atomics.wait) until then.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { workerData, type MessagePort } from "node:worker_threads";

export interface CompileRequest {
  /** Absolute paths of the TypeScript modules to compile (with everything they import). */
  files: string[];
  /** Where outputs go: one directory per program. */
  outDir: string;
  /** The program's --conditions, for resolving package exports as Node does. */
  conditions: string[];
  /** URL of esbuild's main module. */
  esbuild: string;
  port: MessagePort;
  signal: Int32Array;
}

export type CompileAnswer =
  | { ok: true; outputs: Record<string, string> }
  | { ok: false; error: string };

const TYPESCRIPT = /\.(?:c|m)?tsx?$/;

type Esbuild = typeof import("esbuild");

/** The output file's path for `source` (a name that says which source it is). */
function outputPath(outDir: string, source: string): string {
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const base = source.split("/").at(-1)!.replace(TYPESCRIPT, "");
  return join(outDir, `${base}-${hash}.mjs`);
}

/** Whether Node would load this TypeScript file as an ES module (the rules tsx follows). */
function isModuleFile(file: string): boolean {
  if (file.endsWith(".mts")) return true;
  if (file.endsWith(".cts")) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, "utf8")) as { type?: string }).type === "module";
    if (dirname(dir) === dir) return false;
  }
}

async function compileAll(request: CompileRequest): Promise<Record<string, string>> {
  const esbuild = (await import(request.esbuild)) as Esbuild & { default?: Esbuild };
  const { build } = esbuild.default ?? esbuild;
  mkdirSync(request.outDir, { recursive: true });
  const outputs: Record<string, string> = {};
  const pending = [...request.files];
  const seen = new Set(pending);
  const major = process.versions.node.split(".")[0];
  while (pending.length) {
    const source = pending.pop()!;
    if (!isModuleFile(source)) throw new Error(`${source} is CommonJS TypeScript, which only tsx runs`);
    const sourceUrl = pathToFileURL(source).href;
    const result = await build({
      entryPoints: [source],
      bundle: true, // only so that the plugin below sees every import; each one stays external
      write: false,
      format: "esm",
      platform: "node",
      target: `node${major}`,
      conditions: request.conditions,
      sourcemap: "inline",
      sourceRoot: undefined,
      logLevel: "silent",
      define: {
        "import.meta.url": JSON.stringify(sourceUrl),
        "import.meta.filename": JSON.stringify(source),
        "import.meta.dirname": JSON.stringify(dirname(source)),
      },
      plugins: [
        {
          name: "multiproc-absolute-imports",
          setup(b) {
            const again = Symbol("resolving");
            b.onResolve({ filter: /.*/ }, async (args) => {
              if (args.kind === "entry-point" || args.pluginData === again) return undefined;
              if (args.path.startsWith("node:")) return { path: args.path, external: true };
              const found = await b.resolve(args.path, {
                kind: args.kind,
                importer: args.importer,
                resolveDir: args.resolveDir,
                pluginData: again,
              });
              // Not resolvable here (a Node built-in without "node:", or missing): leave it to Node.
              if (found.errors.length || found.external || !found.path.startsWith("/")) return { path: args.path, external: true };
              if (TYPESCRIPT.test(found.path)) {
                if (!seen.has(found.path)) {
                  seen.add(found.path);
                  pending.push(found.path);
                }
                return { path: pathToFileURL(outputPath(request.outDir, found.path)).href, external: true };
              }
              return { path: pathToFileURL(found.path).href, external: true };
            });
          },
        },
      ],
    });
    const code = result.outputFiles[0]!.text;
    const target = outputPath(request.outDir, source);
    // Written under a temporary name and renamed: a worker never reads half a file.
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, code);
    renameSync(temporary, target);
    outputs[source] = pathToFileURL(target).href;
  }
  return outputs;
}

const request = workerData as CompileRequest | undefined;
if (request?.signal) {
  let answer: CompileAnswer;
  try {
    answer = { ok: true, outputs: await compileAll(request) };
  } catch (error) {
    answer = { ok: false, error: (error as Error).message ?? String(error) };
  }
  request.port.postMessage(answer);
  Atomics.store(request.signal, 0, 1);
  Atomics.notify(request.signal, 0);
}
