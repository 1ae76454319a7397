// workerpool's worker (a thread or a child process): the shared tasks, registered by name for pool.exec(name, args).
import workerpool from "workerpool";
import { fib, inc, incAll, spin, sumArray } from "./tasks.mjs";

workerpool.worker({ inc, incAll, fib, sumArray, spin });
