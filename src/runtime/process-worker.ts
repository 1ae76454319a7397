/**
 * A Process's worker: waits for its run message, runs the target (or the
 * subclass's run()), and exits with Python's code: 0 after it returns or
 * resolves, 1 after it throws (its stack printed on stderr, as Python prints
 * the traceback), N if it calls process.exit(N).
 */
import { currentIdentity } from "../process-identity.ts";
import { loadFunction } from "../wire/functions.ts";
import type { ProcessBootstrap, RunMessage } from "../wire/protocol.ts";
import { decodeFromWire, revivalsSettled } from "../wire/serialize.ts";
import type { ParentChannel } from "./channel.ts";

function nextRunMessage(channel: ParentChannel): Promise<RunMessage> {
  return new Promise((resolve) => {
    channel.onMessage((message) => {
      if (message.type === "run") resolve(message);
    });
  });
}

async function runTarget(message: RunMessage): Promise<void> {
  const target = message.wired ? (decodeFromWire(message.target) as RunMessage["target"]) : message.target;
  await revivalsSettled(); // objects among the arguments finish reviving (a Barrier's action) first
  if (target.kind === "function") {
    const fn = await loadFunction(target.fn);
    await fn(...target.args);
    return;
  }
  const Class = (await loadFunction(target.cls)) as { prototype: object };
  const instance = Object.create(Class.prototype) as Record<string, unknown> & { run(): unknown };
  const self = currentIdentity();
  Object.assign(instance, target.fields, { name: self.name });
  await instance.run();
}

export async function runProcessWorker(_data: ProcessBootstrap, channel: ParentChannel): Promise<void> {
  const message = await nextRunMessage(channel);
  let code = 0;
  try {
    await runTarget(message);
  } catch (error) {
    code = 1;
    const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    process.stderr.write(`Process ${currentIdentity().name}:\n${text}\n`);
  }
  channel.exit(code);
}
