// poolifier's worker: the shared tasks as named task functions for pool.execute(data, name).
import { ThreadWorker } from "poolifier";
import { inc, incAll, spin } from "./tasks.mjs";

export default new ThreadWorker({ inc, incAll, spin });
