// npm's install step for multiproc: builds the native addon with node-gyp, and
// says which Node lines are tested when the running one is not among them or the
// build fails (a bare compiler error does not tell a user what to do).
import { spawnSync } from "node:child_process";

const TESTED = "Node 20.19+, 22, 24 and 26";
const [major, minor] = process.versions.node.split(".").map(Number);
const tested = (major === 20 && minor >= 19) || major === 22 || major === 24 || major === 26;

if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`multiproc needs Node 20.19 or newer (it is tested on ${TESTED}); this is Node ${process.versions.node}.`);
  process.exit(1);
}
if (!tested) {
  console.warn(`multiproc: Node ${process.versions.node} is not a line multiproc is tested on (${TESTED}); building anyway.`);
}

// npm hands scripts the path of its own node-gyp; outside npm, node-gyp must be on PATH.
const gyp = process.env.npm_config_node_gyp;
const run = gyp
  ? spawnSync(process.execPath, [gyp, "rebuild"], { stdio: "inherit" })
  : spawnSync("node-gyp", ["rebuild"], { stdio: "inherit", shell: process.platform === "win32" });
if (run.status !== 0) {
  console.error(
    `\nmultiproc: the native addon did not build on Node ${process.versions.node}. It is tested on ${TESTED}, ` +
      "and needs a C++20 compiler (g++ 10+ or clang 12+), make, Python 3 and Node's headers " +
      "(node-gyp downloads them, or set npm_config_nodedir to a Node install that has include/node).",
  );
  process.exit(run.status ?? 1);
}
