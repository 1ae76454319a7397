// workerpool's worker: the shared tasks, registered by name for pool.exec(name, args).
import workerpool from "workerpool";
import { inc, incAll, spin } from "./tasks.mjs";

workerpool.worker({ inc, incAll, spin });
