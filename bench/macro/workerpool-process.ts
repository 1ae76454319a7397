/** workerpool with `workerType: "process"` (child processes). */
import { workerpool } from "./workerpool.ts";

export default workerpool("process");
