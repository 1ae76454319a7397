/** Starting a program that says on stdout when it is ready (a cluster worker, a bench's peer worker). */
import { spawn, type ChildProcess } from "node:child_process";

export interface ReadyChild {
  child: ChildProcess;
  /** What matched `ready` in its output. */
  match: RegExpExecArray;
  /** Its stderr so far. */
  stderr(): string;
}

/** Starts `command args` and resolves once its stdout matched `ready`; rejects, with its stderr, if it exits first. */
export async function startReady(command: string, args: string[], ready: RegExp): Promise<ReadyChild> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let errors = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (errors += chunk));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const found = ready.exec(out);
      if (found) resolve(found);
    });
    child.on("exit", (code, signal) => reject(new Error(`${command} ${args.join(" ")} exited (${signal ?? code}) before it was ready:\n${errors}`)));
  });
  child.removeAllListeners("exit");
  return { child, match, stderr: () => errors };
}
