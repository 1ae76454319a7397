// poolifier's thread worker: the shared tasks as named task functions for pool.execute(data, name).
import { ThreadWorker } from "poolifier";
import { fib, inc, incAll, spin, sumArray } from "./tasks.mjs";

export default new ThreadWorker({ inc, incAll, fib, sumArray, spin });
